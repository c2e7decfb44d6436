#include "http/h2_engine.h"

#include <gtest/gtest.h>

#include "h2_engine_rig.h"

namespace tlsgate::http::testing {
namespace {

HeaderList fields(std::initializer_list<std::pair<const char*, const char*>> list) {
  HeaderList out;
  for (const auto& [n, v] : list) out.push_back({n, v});
  return out;
}

RigPlan ok(std::string body, HeaderList trailers = {}) {
  RigPlan p;
  p.body = std::move(body);
  p.trailers = std::move(trailers);
  return p;
}

const Exchange* exchange_of(const H2Rig& rig, int32_t stream) {
  for (const auto& x : rig.exchanges()) {
    if (x.stream_id == static_cast<uint32_t>(stream)) return &x;
  }
  return nullptr;
}

// Answers 421 for any authority but the flow's SNI, as the authority filter does.
class MisdirectedFilter final : public HttpFilter {
 public:
  std::string_view name() const override { return "misdirected"; }
  FilterStep on_request_head(FilterExchange& ex) override {
    if (ex.request().authority == ex.flow().sni) return FilterStep::proceed();
    LocalReply r;
    r.status = 421;
    r.headers = fields({{"content-type", "text/plain"}});
    r.body = "misdirected\n";
    r.outcome = "misdirected";
    r.detail = ex.request().authority;
    return FilterStep::respond(std::move(r));
  }
};

// Holds requests for /held until the test resumes them.
class HoldingFilter final : public HttpFilter {
 public:
  std::string_view name() const override { return "holding"; }
  FilterStep on_request_head(FilterExchange& ex) override {
    if (ex.request().path != "/held") return FilterStep::proceed();
    resumers.push_back(ex.resumer());
    return FilterStep::hold();
  }
  FilterStep on_response_head(FilterExchange& ex) override {
    if (ex.response()->status == 418) {
      LocalReply r;
      r.status = 403;
      r.body = "blocked";
      r.outcome = "blocked";
      return FilterStep::respond(std::move(r));
    }
    return FilterStep::proceed();
  }
  void on_exchange_end(FilterExchange&) override { ++ended; }
  std::vector<ExchangeResumer> resumers;
  int ended = 0;
};

// Reads whole bodies: requests to /scan (and proceeds), responses to
// /dirty (and replaces them, later, through its resumer).
class BodyFilter final : public HttpFilter {
 public:
  std::string_view name() const override { return "body"; }
  FilterStep on_request_head(FilterExchange& ex) override {
    return ex.request().path == "/scan" ? FilterStep::need_body(1 << 20) : FilterStep::proceed();
  }
  FilterStep on_request_body(FilterExchange&, const HeldBody& body) override {
    seen_request.assign(reinterpret_cast<const char*>(body.bytes.data()), body.bytes.size());
    request_complete = body.complete;
    return FilterStep::proceed();
  }
  FilterStep on_response_head(FilterExchange& ex) override {
    return ex.request().path == "/dirty" ? FilterStep::need_body(1 << 20) : FilterStep::proceed();
  }
  FilterStep on_response_body(FilterExchange& ex, const HeldBody& body) override {
    seen_response_bytes = body.bytes.size();
    resumer = ex.resumer();
    return FilterStep::hold();
  }
  std::string seen_request;
  bool request_complete = false;
  size_t seen_response_bytes = 0;
  ExchangeResumer resumer;
};

// Scans whole response bodies as an ICAP RESPMOD service does: holds each
// body once complete and lets it through later, through its resumer.
class ScanningFilter final : public HttpFilter {
 public:
  std::string_view name() const override { return "scanning"; }
  FilterStep on_response_head(FilterExchange&) override { return FilterStep::need_body(32 << 20); }
  FilterStep on_response_body(FilterExchange& ex, const HeldBody& body) override {
    scanned.push_back(body.bytes.size());
    resumers.push_back(ex.resumer());
    return FilterStep::hold();
  }
  std::vector<size_t> scanned;
  std::vector<ExchangeResumer> resumers;
};

template <typename F>
FilterChain chain(std::unique_ptr<F> f) {
  FilterChain v;
  v.push_back(std::move(f));
  return v;
}

TEST(H2Engine, RequestAndResponseGoThroughWithTheirHeads) {
  H2Rig rig;
  RigPlan p = ok("hello");
  p.headers = fields({{"x-upstream", "yes"}});
  rig.plan("/a?q=1", p);
  RigRequest r;
  r.path = "/a?q=1";
  r.headers = fields({{"user-agent", "rig"}});
  const int32_t id = rig.request(r);
  rig.run();

  const SeenMessage* up = rig.server("/a?q=1");
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->method, "GET");
  EXPECT_EQ(up->authority, "a.test");
  EXPECT_EQ(up->headers, fields({{"user-agent", "rig"}}));
  const SeenMessage& down = rig.client(id);
  EXPECT_EQ(down.status, 200);
  EXPECT_EQ(down.headers, fields({{"x-upstream", "yes"}}));
  EXPECT_EQ(down.body, "hello");
  EXPECT_TRUE(down.ended);
  ASSERT_EQ(rig.exchanges().size(), 1u);
  const Exchange& x = rig.exchanges()[0];
  EXPECT_EQ(x.method, "GET");
  EXPECT_EQ(x.host, "a.test");
  EXPECT_EQ(x.path, "/a?q=1");
  EXPECT_EQ(x.status, 200);
  EXPECT_EQ(x.response_bytes, 5u);
  EXPECT_EQ(x.stream_id, static_cast<uint32_t>(id));
  EXPECT_EQ(x.end, ExchangeEnd::complete);
  EXPECT_EQ(rig.exchanges()[0].outcome, "");
  EXPECT_EQ(rig.engine().open_streams(), 0u);
}

TEST(H2Engine, ManyConcurrentStreamsAllComplete) {
  H2Rig rig;
  std::vector<int32_t> ids;
  for (int i = 0; i < 100; ++i) {
    const std::string path = "/o" + std::to_string(i);
    rig.plan(path, ok(pattern(static_cast<size_t>(100 + i))));
    RigRequest r;
    r.path = path;
    ids.push_back(rig.request(r));
  }
  rig.run();
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(rig.client(ids[i]).body, pattern(100 + i)) << i;
  }
  EXPECT_EQ(rig.exchanges().size(), 100u);
  EXPECT_EQ(rig.engine().open_streams(), 0u);
}

TEST(H2Engine, FramesGoOutInBatchesNotOneWriteEach) {
  H2Rig rig;
  const unsigned client_writes = rig.port.sends[static_cast<int>(Peer::client)];
  for (int i = 0; i < 100; ++i) {
    const std::string path = "/s" + std::to_string(i);
    rig.plan(path, ok("abc"));
    RigRequest r;
    r.path = path;
    rig.request(r);
  }
  rig.run();
  ASSERT_EQ(rig.exchanges().size(), 100u);
  // 100 responses are 200 frames (HEADERS, DATA) toward the client, 100
  // requests 100 HEADERS toward the upstream; each side got a few writes.
  EXPECT_LT(rig.port.sends[static_cast<int>(Peer::client)] - client_writes, 20u);
  EXPECT_LT(rig.port.sends[static_cast<int>(Peer::upstream)], 20u);
}

TEST(H2Engine, TrailersPassBothWays) {
  H2Rig rig;
  rig.plan("/t", ok("body", fields({{"grpc-status", "0"}})));
  RigRequest r;
  r.method = "POST";
  r.path = "/t";
  r.body = "upload";
  r.trailers = fields({{"x-checksum", "abc"}});
  const int32_t id = rig.request(r);
  rig.run();
  const SeenMessage* up = rig.server("/t");
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->body, "upload");
  EXPECT_EQ(up->trailers, fields({{"x-checksum", "abc"}}));
  EXPECT_TRUE(up->ended);
  EXPECT_EQ(rig.client(id).body, "body");
  EXPECT_EQ(rig.client(id).trailers, fields({{"grpc-status", "0"}}));
  EXPECT_TRUE(rig.client(id).ended);
  ASSERT_EQ(rig.exchanges().size(), 1u);
  EXPECT_EQ(rig.exchanges()[0].request_bytes, 6u);
  EXPECT_EQ(rig.exchanges()[0].end, ExchangeEnd::complete);
}

TEST(H2Engine, InterimResponsesComeBeforeTheFinalOne) {
  H2Rig rig;
  RigPlan p = ok("x");
  p.interim = {103};
  rig.plan("/early", p);
  RigRequest r;
  r.path = "/early";
  const int32_t id = rig.request(r);
  rig.run();
  EXPECT_EQ(rig.client(id).interim, std::vector<int>{103});
  EXPECT_EQ(rig.client(id).status, 200);
  EXPECT_EQ(rig.client(id).body, "x");
}

TEST(H2Engine, HeadAnd204AndNotModifiedHaveNoBody) {
  H2Rig rig;
  RigPlan head;
  head.headers = fields({{"content-length", "1234"}});
  rig.plan("/head", head);
  RigPlan none;
  none.status = 204;
  rig.plan("/none", none);
  RigPlan same;
  same.status = 304;
  rig.plan("/same", same);
  RigRequest r;
  r.method = "HEAD";
  r.path = "/head";
  const int32_t h = rig.request(r);
  r.method = "GET";
  r.path = "/none";
  const int32_t n = rig.request(r);
  r.path = "/same";
  const int32_t s = rig.request(r);
  rig.run();
  EXPECT_EQ(rig.client(h).status, 200);
  EXPECT_EQ(rig.client(h).headers, fields({{"content-length", "1234"}}));
  EXPECT_TRUE(rig.client(h).ended);
  EXPECT_EQ(rig.client(h).close_code, NGHTTP2_NO_ERROR);
  EXPECT_EQ(rig.client(n).status, 204);
  EXPECT_EQ(rig.client(s).status, 304);
  EXPECT_TRUE(rig.client(s).ended);
  EXPECT_EQ(rig.exchanges().size(), 3u);
}

TEST(H2Engine, ClientResetResetsTheUpstreamStream) {
  H2Rig rig;
  RigPlan slow;
  slow.manual = true;
  rig.plan("/slow", slow);
  RigRequest r;
  r.path = "/slow";
  const int32_t id = rig.request(r);
  rig.run();
  ASSERT_NE(rig.server("/slow"), nullptr);
  rig.client_reset(id, NGHTTP2_CANCEL);
  rig.run();
  EXPECT_TRUE(rig.server("/slow")->closed);
  EXPECT_EQ(rig.server("/slow")->close_code, NGHTTP2_CANCEL);
  ASSERT_EQ(rig.exchanges().size(), 1u);
  EXPECT_EQ(rig.exchanges()[0].end, ExchangeEnd::reset);
  EXPECT_FALSE(rig.exchanges()[0].status);
}

TEST(H2Engine, UpstreamResetReachesTheClientWithItsCode) {
  H2Rig rig;
  RigPlan refuse;
  refuse.reset = NGHTTP2_ENHANCE_YOUR_CALM;
  rig.plan("/calm", refuse);
  rig.plan("/fine", ok("fine"));
  RigRequest r;
  r.path = "/calm";
  const int32_t calm = rig.request(r);
  r.path = "/fine";
  const int32_t fine = rig.request(r);
  rig.run();
  EXPECT_TRUE(rig.client(calm).closed);
  EXPECT_EQ(rig.client(calm).close_code, NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_EQ(rig.client(fine).body, "fine");
  ASSERT_NE(exchange_of(rig, calm), nullptr);
  EXPECT_EQ(exchange_of(rig, calm)->end, ExchangeEnd::reset);
  EXPECT_EQ(exchange_of(rig, fine)->end, ExchangeEnd::complete);
}

TEST(H2Engine, UpstreamGoawayIsGracefulTowardTheClient) {
  H2Rig rig;
  RigPlan later;
  later.manual = true;
  rig.plan("/inflight", later);
  RigRequest r;
  r.path = "/inflight";
  const int32_t id = rig.request(r);
  rig.run();
  rig.server_goaway();
  rig.run();
  EXPECT_TRUE(rig.client_goaway_seen);
  EXPECT_FALSE(rig.engine().finished());  // the stream in flight still completes
  rig.respond("/inflight", ok("last"));
  rig.run();
  EXPECT_EQ(rig.client(id).body, "last");
  EXPECT_TRUE(rig.engine().finished());
}

TEST(H2Engine, ClientGoawayReachesTheUpstream) {
  H2Rig rig;
  rig.plan("/x", ok("x"));
  RigRequest r;
  r.path = "/x";
  rig.request(r);
  rig.run();
  rig.client_goaway();
  rig.run();
  EXPECT_TRUE(rig.server_goaway_seen);
  EXPECT_TRUE(rig.engine().finished());
}

TEST(H2Engine, StreamsTheUpstreamRefusesAfterItsGoawayAreRefusedToTheClient) {
  H2Rig rig;
  RigPlan later;
  later.manual = true;
  rig.plan("/first", later);
  RigRequest r;
  r.path = "/first";
  const int32_t first = rig.request(r);
  rig.run();
  rig.server_goaway();  // last stream: the first one
  r.path = "/second";
  const int32_t second = rig.request(r);
  rig.run();
  rig.respond("/first", ok("1"));
  rig.run();
  EXPECT_EQ(rig.client(first).body, "1");
  EXPECT_TRUE(rig.client(second).closed);
  EXPECT_EQ(rig.client(second).status, 0);
  EXPECT_EQ(rig.server("/second"), nullptr);
}

TEST(H2Engine, LargeDownloadFollowsASlowReader) {
  H2Rig rig;
  const std::string big = pattern(8 * 1024 * 1024);
  rig.plan("/big", ok(big));
  RigRequest r;
  r.path = "/big";
  const int32_t id = rig.request(r);
  rig.client_reading = false;
  rig.run();
  // The upstream could send no more than our windows and the backlog allow.
  const uint64_t sent_while_stalled = rig.server_body_sent;
  EXPECT_GT(sent_while_stalled, 0u);
  EXPECT_LE(sent_while_stalled,
            static_cast<uint64_t>(H2Engine::kStreamWindow) + H2Engine::kMaxPending + 64 * 1024);
  rig.client_reading = true;
  rig.run();
  EXPECT_EQ(rig.client(id).body.size(), big.size());
  EXPECT_TRUE(rig.client(id).body == big);
  EXPECT_EQ(rig.exchanges().size(), 1u);
  EXPECT_EQ(rig.exchanges()[0].response_bytes, big.size());
}

TEST(H2Engine, LargeUploadArrivesWhole) {
  H2Rig rig;
  rig.plan("/up", ok("got it"));
  RigRequest r;
  r.method = "POST";
  r.path = "/up";
  r.body = pattern(3 * 1024 * 1024 + 17);
  const int32_t id = rig.request(r);
  rig.run();
  ASSERT_NE(rig.server("/up"), nullptr);
  EXPECT_TRUE(rig.server("/up")->body == r.body);
  EXPECT_EQ(rig.client(id).body, "got it");
}

TEST(H2Engine, EarlyResponseWhileTheUploadGoesOn) {
  H2Rig rig;
  RigPlan early = ok("early");
  early.at_headers = true;
  rig.plan("/early", early);
  RigRequest r;
  r.method = "POST";
  r.path = "/early";
  r.body = pattern(1000000);
  const int32_t id = rig.request(r);
  rig.run();
  EXPECT_EQ(rig.client(id).body, "early");
  EXPECT_TRUE(rig.client(id).ended);
  EXPECT_TRUE(rig.client(id).closed);
  ASSERT_NE(rig.server("/early"), nullptr);
  EXPECT_TRUE(rig.server("/early")->body == r.body);
  ASSERT_EQ(rig.exchanges().size(), 1u);
  EXPECT_EQ(rig.exchanges()[0].end, ExchangeEnd::complete);
}

TEST(H2Engine, MisdirectedStreamIsAnsweredLocallyWhileAnotherCompletes) {
  H2Rig rig(chain(std::make_unique<MisdirectedFilter>()));
  rig.plan("/ok", ok("ok"));
  RigRequest r;
  r.path = "/ok";
  const int32_t good = rig.request(r);
  r.authority = "other.test";
  r.path = "/steal";
  r.method = "POST";
  r.body = pattern(200000);  // more than a window: the engine keeps reading and dropping it
  const int32_t bad = rig.request(r);
  rig.run();
  EXPECT_EQ(rig.client(bad).status, 421);
  EXPECT_EQ(rig.client(bad).body, "misdirected\n");
  EXPECT_TRUE(rig.client(bad).ended);
  EXPECT_EQ(rig.server("/steal"), nullptr);  // the upstream never saw it
  EXPECT_EQ(rig.server_streams(), 1u);
  EXPECT_EQ(rig.client(good).body, "ok");
  const Exchange* x = exchange_of(rig, bad);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->outcome, "misdirected");
  EXPECT_EQ(x->detail, "other.test");
  EXPECT_EQ(x->status, 421);
  EXPECT_EQ(x->host, "other.test");
  EXPECT_EQ(rig.engine().open_streams(), 0u);
}

TEST(H2Engine, HeldStreamWaitsWhileOthersGoOn) {
  auto holding = std::make_unique<HoldingFilter>();
  HoldingFilter* filter = holding.get();
  H2Rig rig(chain(std::move(holding)));
  rig.plan("/held", ok("was held"));
  rig.plan("/free", ok("free"));
  RigRequest r;
  r.path = "/held";
  const int32_t held = rig.request(r);
  r.path = "/free";
  const int32_t free = rig.request(r);
  rig.run();
  EXPECT_EQ(rig.client(free).body, "free");
  EXPECT_EQ(rig.server("/held"), nullptr);
  EXPECT_EQ(rig.client(held).status, 0);
  ASSERT_EQ(filter->resumers.size(), 1u);
  filter->resumers[0].proceed();
  rig.run();
  EXPECT_EQ(rig.client(held).body, "was held");
  EXPECT_EQ(filter->ended, 2);
}

TEST(H2Engine, HeldUploadWaitsWithinTheWindowThenGoesWhole) {
  auto holding = std::make_unique<HoldingFilter>();
  HoldingFilter* filter = holding.get();
  H2Rig rig(chain(std::move(holding)));
  rig.plan("/held", ok("stored"));
  RigRequest r;
  r.method = "POST";
  r.path = "/held";
  r.body = pattern(2 * 1024 * 1024);
  const int32_t id = rig.request(r);
  rig.run();
  // While held, the client could send no more than the window we gave it.
  const int32_t sent_while_held =
      H2Engine::kStreamWindow -
      nghttp2_session_get_stream_remote_window_size(rig.client_session(), id);
  EXPECT_GT(sent_while_held, 0);
  EXPECT_LE(sent_while_held, H2Engine::kStreamWindow);
  EXPECT_EQ(rig.server("/held"), nullptr);
  filter->resumers.at(0).proceed();
  rig.run();
  ASSERT_NE(rig.server("/held"), nullptr);
  EXPECT_TRUE(rig.server("/held")->body == r.body);
  EXPECT_EQ(rig.client(id).body, "stored");
  EXPECT_EQ(rig.exchanges().at(0).request_bytes, r.body.size());
}

TEST(H2Engine, RequestBodyHeldForAFilterThenPassedWhole) {
  auto body = std::make_unique<BodyFilter>();
  BodyFilter* filter = body.get();
  H2Rig rig(chain(std::move(body)));
  rig.plan("/scan", ok("scanned"));
  RigRequest r;
  r.method = "POST";
  r.path = "/scan";
  r.body = pattern(600000);  // more than a stream window: the engine reads on while it holds
  r.trailers = fields({{"x-sum", "1"}});
  const int32_t id = rig.request(r);
  rig.run();
  EXPECT_TRUE(filter->seen_request == r.body);
  EXPECT_TRUE(filter->request_complete);
  ASSERT_NE(rig.server("/scan"), nullptr);
  EXPECT_TRUE(rig.server("/scan")->body == r.body);
  EXPECT_EQ(rig.server("/scan")->trailers, fields({{"x-sum", "1"}}));
  EXPECT_EQ(rig.client(id).body, "scanned");
}

TEST(H2Engine, ResponseReplacedByAFilterAfterItsBody) {
  auto body = std::make_unique<BodyFilter>();
  BodyFilter* filter = body.get();
  H2Rig rig(chain(std::move(body)));
  RigPlan dirty = ok(pattern(300000));
  dirty.headers = fields({{"content-length", "300000"}});
  rig.plan("/dirty", dirty);
  RigRequest r;
  r.path = "/dirty";
  const int32_t id = rig.request(r);
  rig.run();
  EXPECT_EQ(filter->seen_response_bytes, 300000u);
  EXPECT_EQ(rig.client(id).status, 0);  // nothing of it went before the filter answered
  filter->resumer.replace_response(ResponseHead{200, fields({{"content-type", "text/plain"}})},
                                   "clean");
  rig.run();
  EXPECT_EQ(rig.client(id).status, 200);
  EXPECT_EQ(rig.client(id).body, "clean");
  EXPECT_EQ(rig.client(id).headers,
            fields({{"content-type", "text/plain"}, {"content-length", "5"}}));
  EXPECT_TRUE(rig.client(id).ended);
  EXPECT_EQ(rig.engine().open_streams(), 0u);
}

TEST(H2Engine, ScannedDownloadsLargerThanTheWindowsArriveWhole) {
  auto scanning = std::make_unique<ScanningFilter>();
  ScanningFilter* filter = scanning.get();
  H2Rig rig(chain(std::move(scanning)));
  const std::string big = pattern(1024 * 1024);
  rig.plan("/big", ok(big));
  std::vector<int32_t> ids;
  for (int i = 0; i < 4; ++i) {
    RigRequest r;
    r.path = "/big";
    ids.push_back(rig.request(r));
  }
  rig.run();
  ASSERT_EQ(filter->scanned, std::vector<size_t>(4, big.size()));
  for (int32_t id : ids) EXPECT_EQ(rig.client(id).status, 0);  // nothing before the scan
  for (auto& resumer : filter->resumers) {
    resumer.proceed();
    rig.run();
  }
  for (int32_t id : ids) {
    EXPECT_EQ(rig.client(id).body.size(), big.size()) << "stream " << id;
    EXPECT_TRUE(rig.client(id).body == big) << "stream " << id;
    EXPECT_TRUE(rig.client(id).ended) << "stream " << id;
  }
  EXPECT_EQ(rig.engine().open_streams(), 0u);
}

TEST(H2Engine, ResumerOfAResetStreamDoesNothing) {
  auto holding = std::make_unique<HoldingFilter>();
  HoldingFilter* filter = holding.get();
  H2Rig rig(chain(std::move(holding)));
  RigRequest r;
  r.path = "/held";
  const int32_t held = rig.request(r);
  rig.run();
  rig.client_reset(held, NGHTTP2_CANCEL);
  rig.run();
  ASSERT_EQ(filter->resumers.size(), 1u);
  EXPECT_FALSE(filter->resumers[0].alive());
  filter->resumers[0].proceed();
  rig.run();
  EXPECT_EQ(rig.server_streams(), 0u);
  ASSERT_EQ(rig.exchanges().size(), 1u);
  EXPECT_EQ(rig.exchanges()[0].end, ExchangeEnd::reset);
}

TEST(H2Engine, HeldRequestAnsweredLaterByTheFilter) {
  auto holding = std::make_unique<HoldingFilter>();
  HoldingFilter* filter = holding.get();
  H2Rig rig(chain(std::move(holding)));
  RigRequest r;
  r.path = "/held";
  const int32_t held = rig.request(r);
  rig.run();
  LocalReply reply;
  reply.status = 403;
  reply.body = "no";
  reply.outcome = "blocked";
  filter->resumers.at(0).respond(reply);
  rig.run();
  EXPECT_EQ(rig.client(held).status, 403);
  EXPECT_EQ(rig.client(held).body, "no");
  EXPECT_EQ(rig.server_streams(), 0u);
  ASSERT_EQ(rig.exchanges().size(), 1u);
  EXPECT_EQ(rig.exchanges()[0].outcome, "blocked");
}

TEST(H2Engine, ResponseReplacedLocallyCancelsTheUpstreamStream) {
  H2Rig rig(chain(std::make_unique<HoldingFilter>()));
  RigPlan teapot = ok(pattern(500000));
  teapot.status = 418;
  rig.plan("/teapot", teapot);
  RigRequest r;
  r.path = "/teapot";
  const int32_t id = rig.request(r);
  rig.run();
  EXPECT_EQ(rig.client(id).status, 403);
  EXPECT_EQ(rig.client(id).body, "blocked");
  EXPECT_TRUE(rig.server("/teapot")->closed);
  EXPECT_LT(rig.server_body_sent, 500000u);
  EXPECT_EQ(rig.engine().open_streams(), 0u);
}

TEST(H2Engine, ExtendedConnectIsOfferedWhenTheUpstreamOffersItAndTunnels) {
  H2Rig::Options o;
  o.server_enables_connect_protocol = true;
  H2Rig rig({}, o);
  EXPECT_EQ(nghttp2_session_get_remote_settings(rig.client_session(),
                                                NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL),
            1u);
  RigPlan ws;
  ws.at_headers = true;
  ws.echo = true;
  rig.plan("/chat", ws);
  RigRequest r;
  r.method = "CONNECT";
  r.protocol = "websocket";
  r.path = "/chat";
  r.ends = false;
  const int32_t id = rig.request(r);
  rig.run();
  EXPECT_EQ(rig.server("/chat")->protocol, "websocket");
  EXPECT_EQ(rig.client(id).status, 200);
  rig.client_send_more(id, "ping-frame", false);
  rig.run();
  EXPECT_EQ(rig.client(id).body, "ping-frame");
  rig.client_send_more(id, "", true);
  rig.run();
  ASSERT_EQ(rig.exchanges().size(), 1u);
  EXPECT_EQ(rig.exchanges()[0].end, ExchangeEnd::upgrade);
  EXPECT_EQ(rig.exchanges()[0].method, "CONNECT");
}

TEST(H2Engine, EachSideGetsTheEnginesSettingsAndPingsAreAnsweredPerHop) {
  H2Rig rig;
  rig.plan("/", ok("x"));
  rig.request(RigRequest{});  // the upstream session is made at the first request
  rig.run();
  nghttp2_session* client = rig.client_session();
  EXPECT_EQ(nghttp2_session_get_remote_settings(client, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS),
            H2Engine::kMaxConcurrentStreams);
  EXPECT_EQ(nghttp2_session_get_remote_settings(client, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE),
            static_cast<uint32_t>(H2Engine::kStreamWindow));
  // Peers keep the protocol's HPACK table size for what they send: no table
  // size update is asked of them (a client that sends none still works).
  EXPECT_EQ(nghttp2_session_get_remote_settings(client, NGHTTP2_SETTINGS_HEADER_TABLE_SIZE), 4096u);
  EXPECT_EQ(
      nghttp2_session_get_remote_settings(rig.server_session(), NGHTTP2_SETTINGS_HEADER_TABLE_SIZE),
      4096u);
  EXPECT_EQ(nghttp2_session_get_remote_settings(rig.server_session(), NGHTTP2_SETTINGS_ENABLE_PUSH),
            0u);
  ASSERT_EQ(nghttp2_submit_ping(client, NGHTTP2_FLAG_NONE, nullptr), 0);
  rig.run();
  EXPECT_EQ(rig.client_ping_acks, 1);
  EXPECT_EQ(rig.server_pings, 0);
}

TEST(H2Engine, ExtendedConnectIsNotOfferedWhenTheUpstreamDoesNot) {
  H2Rig rig;
  EXPECT_EQ(nghttp2_session_get_remote_settings(rig.client_session(),
                                                NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL),
            0u);
}

TEST(H2Engine, ConnectionEndReportsOpenStreamsIncomplete) {
  H2Rig rig;
  RigPlan later;
  later.manual = true;
  rig.plan("/open", later);
  RigRequest r;
  r.path = "/open";
  rig.request(r);
  rig.run();
  rig.engine().on_flow_end();
  ASSERT_EQ(rig.exchanges().size(), 1u);
  EXPECT_EQ(rig.exchanges()[0].end, ExchangeEnd::incomplete);
}

// TLS half-close (RFC 8446 §6.1): the client sends END_STREAM, then ends its
// side of the connection; the response it asked for still arrives.
TEST(H2Engine, AClientThatEndsItsSideAfterARequestStillGetsTheResponse) {
  H2Rig rig;
  RigPlan later;
  later.manual = true;
  rig.plan("/late", later);
  RigRequest r;
  r.path = "/late";
  const int32_t id = rig.request(r);
  rig.run();
  rig.engine().on_end_of_stream(Peer::client);
  rig.run();
  EXPECT_FALSE(rig.engine().finished());
  EXPECT_FALSE(rig.port.closed);
  rig.respond("/late", ok("the answer"));
  rig.run();
  EXPECT_EQ(rig.client(id).status, 200);
  EXPECT_EQ(rig.client(id).body, "the answer");
  EXPECT_TRUE(rig.client(id).ended);
  ASSERT_EQ(rig.exchanges().size(), 1u);
  EXPECT_EQ(rig.exchanges()[0].end, ExchangeEnd::complete);
  EXPECT_TRUE(rig.engine().finished());
  EXPECT_EQ(rig.port.closed, "h2_closed");
}

TEST(H2Engine, AClientThatEndsItsSideCancelsTheRequestsItHadNotFinished) {
  H2Rig rig;
  RigPlan later;
  later.manual = true;
  rig.plan("/late", later);
  rig.plan("/upload", later);
  RigRequest whole;
  whole.path = "/late";
  const int32_t answered = rig.request(whole);
  RigRequest open;
  open.method = "POST";
  open.path = "/upload";
  open.body = "part";
  open.ends = false;
  rig.request(open);
  rig.run();
  ASSERT_NE(rig.server("/upload"), nullptr);
  rig.engine().on_end_of_stream(Peer::client);
  rig.run();
  EXPECT_TRUE(rig.server("/upload")->closed);
  EXPECT_EQ(rig.server("/upload")->close_code, NGHTTP2_CANCEL);
  EXPECT_FALSE(rig.engine().finished());  // the whole request still awaits its answer
  rig.respond("/late", ok("kept"));
  rig.run();
  EXPECT_EQ(rig.client(answered).body, "kept");
  ASSERT_EQ(rig.exchanges().size(), 2u);
  EXPECT_EQ(rig.exchanges()[0].end, ExchangeEnd::incomplete);
  EXPECT_EQ(rig.exchanges()[1].end, ExchangeEnd::complete);
  EXPECT_TRUE(rig.engine().finished());
}

TEST(H2Engine, UpstreamConnectionLossResetsOpenStreams) {
  H2Rig rig;
  RigPlan later;
  later.manual = true;
  rig.plan("/open", later);
  RigRequest r;
  r.path = "/open";
  const int32_t id = rig.request(r);
  rig.run();
  rig.engine().on_end_of_stream(Peer::upstream);
  rig.run();
  EXPECT_TRUE(rig.client(id).closed);
  EXPECT_EQ(rig.client(id).close_code, NGHTTP2_INTERNAL_ERROR);
  EXPECT_TRUE(rig.client_goaway_seen);
  EXPECT_TRUE(rig.engine().finished());
}

TEST(H2Engine, NotH2FromTheClientIsRefused) {
  MemoryPort port;
  FilterChain chain;
  H2Engine engine(port, chain);
  EXPECT_TRUE(port.sent(Peer::upstream).empty());  // no upstream session before a request
  engine.on_bytes(Peer::client, bytes_of("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_TRUE(engine.finished());
  EXPECT_EQ(port.closed, "h2_protocol_error");
  EXPECT_EQ(port.unparsed, 1u);
  EXPECT_TRUE(port.sent(Peer::upstream).empty());
}

TEST(H2Engine, IdleConnectionHasNoUpstreamSessionUntilItsFirstRequest) {
  H2Rig rig;  // both peers said their SETTINGS; the engine holds the upstream's
  EXPECT_FALSE(rig.engine().upstream_session_open());
  EXPECT_TRUE(rig.port.sent(Peer::upstream).empty());
  EXPECT_NE(nghttp2_session_get_local_settings(rig.server_session(),
                                               NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS),
            1000u);  // the upstream heard nothing yet, not even an ACK
  rig.plan("/first", ok("one"));
  RigRequest r;
  r.path = "/first";
  const int32_t id = rig.request(r);
  rig.run();
  EXPECT_TRUE(rig.engine().upstream_session_open());
  EXPECT_EQ(rig.client(id).body, "one");
  // The upstream's early SETTINGS were read and acknowledged.
  EXPECT_EQ(nghttp2_session_get_local_settings(rig.server_session(),
                                               NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS),
            1000u);
}

TEST(H2Engine, ClientGoawayBeforeAnyRequestEndsTheConnectionWithoutTheUpstream) {
  H2Rig rig;
  rig.client_goaway();
  rig.run();
  EXPECT_FALSE(rig.engine().upstream_session_open());
  EXPECT_FALSE(rig.server_goaway_seen);
  EXPECT_TRUE(rig.engine().finished());
}

TEST(H2Engine, UpstreamThatKeepsTalkingBeforeARequestGetsItsSession) {
  H2Rig rig;
  int pings = 0;
  while (!rig.engine().upstream_session_open() && pings < 1000) {
    ASSERT_EQ(nghttp2_submit_ping(rig.server_session(), NGHTTP2_FLAG_NONE, nullptr), 0);
    ++pings;
    rig.run();
  }
  EXPECT_TRUE(rig.engine().upstream_session_open());
  EXPECT_GT(pings * 17, static_cast<int>(H2Engine::kMaxEarlyUpstream) - 64);  // 17-byte PINGs
  EXPECT_LT(pings * 17, static_cast<int>(H2Engine::kMaxEarlyUpstream) + 17);
  EXPECT_EQ(rig.server_ping_acks, pings);  // answered per hop, all of them
  EXPECT_EQ(rig.server_pings, 0);
}

TEST(H2Settings, ConnectProtocolOfferIsReadFromWholeSettingsFramesOnly) {
  // SETTINGS with MAX_CONCURRENT_STREAMS = 100 and ENABLE_CONNECT_PROTOCOL = 1.
  const std::vector<uint8_t> offer = {0, 0, 12, 4,   0, 0, 0, 0, 0, 0, 3,
                                      0, 0, 0,  100, 0, 8, 0, 0, 0, 1};
  EXPECT_TRUE(settings_offer_connect_protocol(offer));
  EXPECT_FALSE(settings_offer_connect_protocol(std::span(offer).first(offer.size() - 1)));
  std::vector<uint8_t> withdrawn = offer;  // a later SETTINGS sets it to 0
  withdrawn.insert(withdrawn.end(), {0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0});
  EXPECT_FALSE(settings_offer_connect_protocol(withdrawn));
  std::vector<uint8_t> ack = offer;  // an ACK carries no settings
  ack[4] = NGHTTP2_FLAG_ACK;
  EXPECT_FALSE(settings_offer_connect_protocol(ack));
  const std::vector<uint8_t> other = {0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100};
  EXPECT_FALSE(settings_offer_connect_protocol(other));
}

TEST(H2Engine, ProtocolErrorFromTheClientEndsTheConnection) {
  H2Rig rig;
  const std::string junk(64, '\xff');  // a frame of an unknown length beyond the maximum
  rig.engine().on_bytes(Peer::client, bytes_of(junk));
  rig.run();
  EXPECT_TRUE(rig.client_goaway_seen);
  EXPECT_TRUE(rig.engine().finished());
}

}  // namespace
}  // namespace tlsgate::http::testing
