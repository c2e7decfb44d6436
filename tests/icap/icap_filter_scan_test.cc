// The ICAP filter end to end against c-icap + clamd, with a hand-driven
// exchange: EICAR downloads and uploads are replaced by the block page
// naming threat, URL and service; clean ones go on; a flow that ends
// mid-scan cancels it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "av_service.h"
#include "fake_exchange.h"
#include "icap/icap_filter.h"
#include "icap/worker_client.h"
#include "ring_loop.h"

namespace tlsgate::icap {
namespace {

using namespace std::chrono_literals;
using test_support::AvService;
using test_support::FakeExchange;
using test_support::ResumeRecord;
using test_support::RingLoop;

config::IcapServiceSettings settings(const AvService& av, std::string name,
                                     config::IcapMethod method) {
  config::IcapServiceSettings s;
  s.name = std::move(name);
  std::string error;
  s.url = *config::parse_icap_url(av.url(), &error);
  s.method = method;
  s.timeout = 10s;
  return s;
}

class IcapFilterScan : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { av_ = std::make_unique<AvService>(); }
  static void TearDownTestSuite() { av_.reset(); }

  void SetUp() override {
    shared_->services = {settings(*av_, "av", config::IcapMethod::respmod),
                         settings(*av_, "upload-av", config::IcapMethod::reqmod)};
    shared_->stats = std::make_shared<ScanStats>(std::vector<std::string>{"av", "upload-av"});
    loop_ = std::make_unique<RingLoop>(resolve_services(shared_->services));
    binding_ = std::make_unique<WorkerClientBinding>(&loop_->client());
    factory_ = std::make_unique<IcapFilterFactory>(shared_);
  }
  void TearDown() override {
    binding_.reset();
    loop_.reset();
  }

  static FakeExchange exchange(const std::string& path) {
    FakeExchange ex;
    ex.flow_context.rule = "default";
    ex.flow_context.client = Endpoint{*IpAddress::parse("10.0.0.5"), 40000};
    ex.flow_context.server = Endpoint{*IpAddress::parse("192.0.2.1"), 443};
    ex.request_head = http::RequestHead{"GET", "https", "files.example", path, "", {}};
    ex.response_head = http::ResponseHead{200, {{"content-type", "application/octet-stream"}}};
    return ex;
  }
  static std::span<const uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
  }

  static std::unique_ptr<AvService> av_;
  std::shared_ptr<IcapFilterShared> shared_ = std::make_shared<IcapFilterShared>();
  std::unique_ptr<RingLoop> loop_;
  std::unique_ptr<WorkerClientBinding> binding_;
  std::unique_ptr<IcapFilterFactory> factory_;
};
std::unique_ptr<AvService> IcapFilterScan::av_;

TEST_F(IcapFilterScan, InfectedDownloadBecomesTheBlockPage) {
  FakeExchange ex = exchange("/eicar.com");
  auto filter = factory_->make(ex.flow());
  ASSERT_EQ(filter->on_response_head(ex).kind(), http::FilterStep::Kind::need_body);
  std::string body = test_support::eicar();
  ASSERT_EQ(filter->on_response_body(ex, {bytes(body), true}).kind(), http::FilterStep::Kind::hold);
  ASSERT_TRUE(loop_->run_until([&] { return ex.target->calls > 0; }, 15s));
  EXPECT_EQ(ex.target->calls, 1);
  ASSERT_EQ(ex.target->how, ResumeRecord::How::respond);
  EXPECT_EQ(ex.target->reply.status, 403);
  EXPECT_EQ(ex.target->reply.outcome, "infected");
  EXPECT_NE(ex.target->reply.body.find("Lab.Eicar."), std::string::npos);
  EXPECT_NE(ex.target->reply.body.find("https://files.example/eicar.com"), std::string::npos);
  EXPECT_NE(ex.target->reply.body.find("av"), std::string::npos);
  EXPECT_EQ(ex.target->reply.body.find(body), std::string::npos) << "nothing of the file";
  filter->on_exchange_end(ex);
  EXPECT_EQ(shared_->stats->count(0, Verdict::infected), 1u);
}

TEST_F(IcapFilterScan, CleanDownloadGoesOn) {
  FakeExchange ex = exchange("/readme.txt");
  auto filter = factory_->make(ex.flow());
  std::string body = "nothing to see here\n";
  ASSERT_EQ(filter->on_response_body(ex, {bytes(body), true}).kind(), http::FilterStep::Kind::hold);
  ASSERT_TRUE(loop_->run_until([&] { return ex.target->calls > 0; }, 15s));
  EXPECT_EQ(ex.target->how, ResumeRecord::How::proceed);
  EXPECT_EQ(shared_->stats->count(0, Verdict::clean), 1u);
}

TEST_F(IcapFilterScan, InfectedUploadIsBlockedAtTheRequest) {
  FakeExchange ex = exchange("/upload");
  ex.request_head.method = "POST";
  ex.response_head.reset();
  auto filter = factory_->make(ex.flow());
  ASSERT_EQ(filter->on_request_head(ex).kind(), http::FilterStep::Kind::need_body);
  std::string body = test_support::eicar();
  ASSERT_EQ(filter->on_request_body(ex, {bytes(body), true}).kind(), http::FilterStep::Kind::hold);
  ASSERT_TRUE(loop_->run_until([&] { return ex.target->calls > 0; }, 15s));
  ASSERT_EQ(ex.target->how, ResumeRecord::How::respond);
  EXPECT_NE(ex.target->reply.body.find("Nothing of it was sent to the server"), std::string::npos);
  EXPECT_NE(ex.target->reply.body.find("upload-av"), std::string::npos);
}

TEST_F(IcapFilterScan, ConcurrentStreamsOfOneFlowAreScannedApart) {
  auto filter = factory_->make(exchange("/").flow());
  std::vector<FakeExchange> streams;
  std::vector<std::string> bodies;
  for (uint32_t i = 0; i < 20; ++i) {
    streams.push_back(exchange("/f" + std::to_string(i)));
    streams.back().stream = 2 * i + 1;
    bodies.push_back(i % 4 == 0 ? test_support::eicar() : "clean " + std::to_string(i));
  }
  for (size_t i = 0; i < streams.size(); ++i) {
    ASSERT_EQ(filter->on_response_body(streams[i], {bytes(bodies[i]), true}).kind(),
              http::FilterStep::Kind::hold);
  }
  ASSERT_TRUE(loop_->run_until(
      [&] {
        for (auto& s : streams) {
          if (s.target->calls == 0) return false;
        }
        return true;
      },
      30s));
  for (size_t i = 0; i < streams.size(); ++i) {
    EXPECT_EQ(streams[i].target->how,
              i % 4 == 0 ? ResumeRecord::How::respond : ResumeRecord::How::proceed)
        << i;
    EXPECT_EQ(streams[i].target->calls, 1);
  }
}

TEST_F(IcapFilterScan, ExchangeEndedMidScanCancelsIt) {
  FakeExchange ex = exchange("/big.bin");
  auto filter = factory_->make(ex.flow());
  std::string body(8 << 20, 'x');
  ASSERT_EQ(filter->on_response_body(ex, {bytes(body), true}).kind(), http::FilterStep::Kind::hold);
  loop_->run_until([] { return false; }, 5ms);
  filter->on_exchange_end(ex);
  body.clear();
  body.shrink_to_fit();
  loop_->run_until([] { return false; }, 300ms);
  EXPECT_EQ(ex.target->calls, 0) << "a cancelled scan never resumes";
  EXPECT_EQ(loop_->client().states().at(0).busy, 0u);
  EXPECT_EQ(loop_->client().states().at(0).waiting, 0u);
}

}  // namespace
}  // namespace tlsgate::icap
