// The ICAP client on a real io_uring against c-icap's virus_scan over
// clamd (tests/icap, ctest label `icap`): verdicts, preview, pooling,
// failures of the service, timeouts and cancellation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "av_service.h"
#include "icap/icap_ring_client.h"
#include "ring_loop.h"

namespace tlsgate::icap {
namespace {

using namespace std::chrono_literals;
using test_support::AvService;
using test_support::eicar;
using test_support::RingLoop;

std::vector<ServiceTarget> targets(const AvService& av, config::IcapMethod method,
                                   std::chrono::milliseconds timeout = 10s,
                                   unsigned max_connections = 4, size_t preview = 4096) {
  config::IcapServiceSettings s;
  s.name = "av";
  std::string error;
  s.url = *config::parse_icap_url(av.url(), &error);
  s.method = method;
  s.timeout = timeout;
  s.max_connections = max_connections;
  s.preview = preview;
  return resolve_services({s});
}

http::RequestHead get(const std::string& path) {
  return http::RequestHead{"GET", "https", "files.example", path, "", {{"user-agent", "test"}}};
}

http::ResponseHead ok(size_t length, const std::string& type = "application/octet-stream") {
  return http::ResponseHead{200,
                            {{"content-type", type}, {"content-length", std::to_string(length)}}};
}

// One scan in flight and its answer.
struct Pending {
  std::string body;
  bool done = false;
  ScanOutcome outcome;
  uint64_t id = 0;
};

std::shared_ptr<Pending> start(IcapRingClient& c, http::RequestHead req,
                               std::optional<http::ResponseHead> res, std::string body) {
  auto p = std::make_shared<Pending>();
  p->body = std::move(body);
  ScanRequest r;
  r.request = std::move(req);
  r.response = std::move(res);
  r.client_ip = "10.0.0.5";
  r.body = {reinterpret_cast<const uint8_t*>(p->body.data()), p->body.size()};
  auto started = c.scan(std::move(r), [p](ScanOutcome o) {
    p->done = true;
    p->outcome = std::move(o);
  });
  p->id = started.id;
  if (started.immediate) {
    p->done = true;
    p->outcome = std::move(*started.immediate);
  }
  return p;
}

ScanOutcome scan_respmod(RingLoop& loop, const std::string& path, const std::string& body,
                         std::chrono::milliseconds limit = 15s) {
  auto p = start(loop.client(), get(path), ok(body.size()), body);
  EXPECT_TRUE(loop.run_until([&] { return p->done; }, limit)) << "no answer for " << path;
  return p->outcome;
}

std::string run(const std::string& command) {
  std::string out;
  std::FILE* f = ::popen(command.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  ::pclose(f);
  return out;
}

std::string clean_bytes(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 12345;
  for (auto& c : s) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>('a' + (x >> 16) % 26);
  }
  return s;
}

class IcapAnswers : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { av_ = std::make_unique<AvService>(); }
  static void TearDownTestSuite() { av_.reset(); }
  static std::unique_ptr<AvService> av_;
};
std::unique_ptr<AvService> IcapAnswers::av_;

TEST_F(IcapAnswers, CleanFileIsUnmodifiedWithIstag) {
  RingLoop loop(targets(*av_, config::IcapMethod::respmod));
  ScanOutcome o = scan_respmod(loop, "/readme.txt", "just some text\n");
  EXPECT_EQ(o.verdict, Verdict::clean) << o.error;
  EXPECT_FALSE(o.istag.empty());
}

TEST_F(IcapAnswers, EicarIsInfectedWithItsThreatName) {
  RingLoop loop(targets(*av_, config::IcapMethod::respmod));
  ScanOutcome o = scan_respmod(loop, "/eicar.com", eicar());
  EXPECT_EQ(o.verdict, Verdict::infected) << o.error;
  EXPECT_EQ(o.threat.rfind("Lab.Eicar.", 0), 0u) << o.threat;
}

TEST_F(IcapAnswers, EicarGzipAndZipAreInfected) {
  std::string dir = av_->dir().string();
  { std::ofstream(dir + "/eicar.com", std::ios::binary) << eicar(); }
  std::string gz = run("gzip -c " + dir + "/eicar.com");
  run("cd " + dir + " && zip -q eicar.zip eicar.com");
  std::ifstream zf(dir + "/eicar.zip", std::ios::binary);
  std::string zip((std::istreambuf_iterator<char>(zf)), std::istreambuf_iterator<char>());
  ASSERT_GT(gz.size(), 20u);
  ASSERT_GT(zip.size(), 68u);
  RingLoop loop(targets(*av_, config::IcapMethod::respmod));
  ScanOutcome g = scan_respmod(loop, "/eicar.com.gz", gz);
  EXPECT_EQ(g.verdict, Verdict::infected) << g.error;
  EXPECT_NE(g.threat.find("Lab.Eicar"), std::string::npos);
  ScanOutcome z = scan_respmod(loop, "/eicar.zip", zip);
  EXPECT_EQ(z.verdict, Verdict::infected) << z.error;
  EXPECT_NE(z.threat.find("Lab.Eicar"), std::string::npos);
}

TEST_F(IcapAnswers, PreviewThenContinueFindsWhatIsPastThePreview) {
  // 300 KiB of text with the EICAR string at the end: the 1024-byte preview
  // holds nothing, the service asks for the rest (100 Continue).
  std::string body = clean_bytes(300 * 1024) + eicar();
  RingLoop loop(targets(*av_, config::IcapMethod::respmod));
  ScanOutcome o = scan_respmod(loop, "/big.txt", body);
  EXPECT_EQ(o.verdict, Verdict::infected) << o.error;
  EXPECT_EQ(o.threat, "Lab.Eicar.Body.UNOFFICIAL");
  ScanOutcome clean = scan_respmod(loop, "/big.txt", clean_bytes(300 * 1024));
  EXPECT_EQ(clean.verdict, Verdict::clean) << clean.error;
}

TEST_F(IcapAnswers, WithoutPreviewTheWholeBodyGoesAtOnce) {
  RingLoop loop(targets(*av_, config::IcapMethod::respmod, 10s, 4, /*preview=*/0));
  ScanOutcome o = scan_respmod(loop, "/big.txt", clean_bytes(100 * 1024) + eicar());
  EXPECT_EQ(o.verdict, Verdict::infected) << o.error;
}

TEST_F(IcapAnswers, UploadsGoToReqmod) {
  RingLoop loop(targets(*av_, config::IcapMethod::reqmod));
  http::RequestHead post{"POST",  "https", "upload.example",
                         "/form", "",      {{"content-type", "application/octet-stream"}}};
  auto infected = start(loop.client(), post, std::nullopt, eicar());
  auto clean = start(loop.client(), post, std::nullopt, "name=value");
  ASSERT_TRUE(loop.run_until([&] { return infected->done && clean->done; }, 15s));
  EXPECT_EQ(infected->outcome.verdict, Verdict::infected) << infected->outcome.error;
  EXPECT_EQ(infected->outcome.threat.rfind("Lab.Eicar.", 0), 0u) << infected->outcome.threat;
  EXPECT_EQ(clean->outcome.verdict, Verdict::clean) << clean->outcome.error;
}

TEST_F(IcapAnswers, ConnectionsArePersistentAndPooled) {
  RingLoop loop(targets(*av_, config::IcapMethod::respmod, 10s, 3));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(scan_respmod(loop, "/a.txt", "hello " + std::to_string(i)).verdict, Verdict::clean);
  }
  EXPECT_EQ(loop.client().states().at(0).connections, 1u) << "sequential scans reuse one";
  std::vector<std::shared_ptr<Pending>> many;
  for (int i = 0; i < 40; ++i) {
    many.push_back(start(loop.client(), get("/f" + std::to_string(i)), ok(10),
                         i % 10 == 0 ? eicar() : clean_bytes(2000 + i)));
  }
  unsigned most = 0;
  ASSERT_TRUE(loop.run_until(
      [&] {
        most = std::max(most, loop.client().states().at(0).connections);
        for (auto& p : many) {
          if (!p->done) return false;
        }
        return true;
      },
      30s));
  EXPECT_LE(most, 3u) << "never more than max_connections";
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(many[i]->outcome.verdict, i % 10 == 0 ? Verdict::infected : Verdict::clean)
        << i << ": " << many[i]->outcome.error;
  }
}

// Two workers' clients given copies of the same targets share one budget:
// max_connections holds for both together, and places kept idle by one go
// to the other when its scans wait.
TEST_F(IcapAnswers, MaxConnectionsHoldsForAllWorkersTogether) {
  auto shared = targets(*av_, config::IcapMethod::respmod, 10s, 2);
  RingLoop a(shared), b(shared);
  auto total = [&] {
    return a.client().states().at(0).connections + b.client().states().at(0).connections;
  };
  unsigned most = 0;
  auto drive = [&](const std::vector<std::shared_ptr<Pending>>& scans,
                   std::chrono::milliseconds limit) {
    auto all_done = [&] {
      most = std::max(most, total());
      return std::all_of(scans.begin(), scans.end(), [](const auto& p) { return p->done; });
    };
    auto until = std::chrono::steady_clock::now() + limit;
    while (!all_done() && std::chrono::steady_clock::now() < until) {
      a.run_until(all_done, 5ms);
      b.run_until(all_done, 5ms);
    }
    return all_done();
  };
  auto burst = [&](RingLoop& loop, const std::string& tag, int n) {
    std::vector<std::shared_ptr<Pending>> out;
    for (int i = 0; i < n; ++i) {
      out.push_back(start(loop.client(), get("/" + tag + std::to_string(i)), ok(10),
                          i % 5 == 0 ? eicar() : clean_bytes(3000 + i)));
    }
    return out;
  };
  auto check = [](const std::vector<std::shared_ptr<Pending>>& scans) {
    for (size_t i = 0; i < scans.size(); ++i) {
      EXPECT_EQ(scans[i]->outcome.verdict, i % 5 == 0 ? Verdict::infected : Verdict::clean)
          << i << ": " << scans[i]->outcome.error;
    }
  };

  // Both at once.
  auto first = burst(a, "a", 20);
  auto second = burst(b, "b", 20);
  auto both = first;
  both.insert(both.end(), second.begin(), second.end());
  ASSERT_TRUE(drive(both, 30s));
  check(first);
  check(second);
  EXPECT_LE(most, 2u) << "the cap is for both clients together";
  EXPECT_EQ(a.client().states().at(0).max_connections, 2u);

  // Client a alone, then b while a keeps its connections idle: b's scans do
  // not wait out their timeout, a gives its idle places up.
  most = 0;
  auto alone = burst(a, "alone", 10);
  ASSERT_TRUE(drive(alone, 30s));
  check(alone);
  auto t0 = std::chrono::steady_clock::now();
  auto late = burst(b, "late", 10);
  ASSERT_TRUE(drive(late, 30s));
  check(late);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "b waited for a's idle connections";
  EXPECT_LE(most, 2u);
  EXPECT_GE(b.client().states().at(0).connections, 1u);
}

TEST_F(IcapAnswers, CancelledScanNeverAnswersAndLeavesNoConnection) {
  RingLoop loop(targets(*av_, config::IcapMethod::respmod));
  ASSERT_EQ(scan_respmod(loop, "/warm.txt", "warm").verdict, Verdict::clean);
  auto p = start(loop.client(), get("/big.txt"), ok(1), clean_bytes(4 << 20));
  loop.run_until([] { return false; }, 5ms);  // under way
  loop.client().cancel(p->id);
  p->body = std::string();  // the caller frees the body at once
  p->body.shrink_to_fit();
  loop.run_until([] { return false; }, 300ms);
  EXPECT_FALSE(p->done);
  EXPECT_EQ(loop.client().states().at(0).busy, 0u);
  // The service is still fine for the next scan.
  EXPECT_EQ(scan_respmod(loop, "/eicar.com", eicar()).verdict, Verdict::infected);
}

TEST(IcapFailures, StoppedServiceIsAnErrorThenRefusedWithoutRetryingPerRequest) {
  AvService av;
  RingLoop loop(targets(av, config::IcapMethod::respmod, 3s));
  ASSERT_EQ(scan_respmod(loop, "/a.txt", "before").verdict, Verdict::clean);
  av.stop_icap();
  ScanOutcome o = scan_respmod(loop, "/a.txt", "after");
  EXPECT_EQ(o.verdict, Verdict::error);
  EXPECT_FALSE(o.error.empty());
  ASSERT_FALSE(loop.client().states().at(0).up);
  EXPECT_TRUE(loop.client().states().at(0).down_since);
  // Inside the backoff: answered at once, no connection attempted.
  auto p = start(loop.client(), get("/b.txt"), ok(5), "again");
  ASSERT_TRUE(p->done) << "refused without a connection attempt";
  EXPECT_EQ(p->outcome.error, "service down");
  EXPECT_EQ(loop.client().states().at(0).connections, 0u);
}

TEST(IcapFailures, StalledServiceTimesOut) {
  AvService av;
  RingLoop loop(targets(av, config::IcapMethod::respmod, 700ms));
  ASSERT_EQ(scan_respmod(loop, "/a.txt", "before").verdict, Verdict::clean);
  av.pause_icap();
  auto t0 = std::chrono::steady_clock::now();
  ScanOutcome o = scan_respmod(loop, "/a.txt", "stalled", 5s);
  auto took = std::chrono::steady_clock::now() - t0;
  av.resume_icap();
  EXPECT_EQ(o.verdict, Verdict::error);
  EXPECT_NE(o.error.find("timeout"), std::string::npos) << o.error;
  EXPECT_GE(took, 600ms);
  EXPECT_LT(took, 3s);
}

TEST(IcapFailures, ServiceComesBackAfterBackoff) {
  AvService av;
  RingLoop loop(targets(av, config::IcapMethod::respmod, 3s));
  av.stop_icap();
  ScanOutcome o = scan_respmod(loop, "/a.txt", "x");
  EXPECT_EQ(o.verdict, Verdict::error);
  EXPECT_NE(o.error.find("Connection refused"), std::string::npos) << o.error;
  EXPECT_FALSE(loop.client().states().at(0).up);
  EXPECT_EQ(scan_respmod(loop, "/a.txt", "x").error, "service down") << "inside the backoff";
  av.start_icap();
  loop.run_until([] { return false; }, 1100ms);  // past the first backoff (1 s)
  ScanOutcome probe = scan_respmod(loop, "/eicar.com", eicar());
  EXPECT_EQ(probe.verdict, Verdict::infected) << probe.error;
  EXPECT_TRUE(loop.client().states().at(0).up);
}

}  // namespace
}  // namespace tlsgate::icap
