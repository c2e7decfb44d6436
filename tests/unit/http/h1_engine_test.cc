#include "http/h1_engine.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/authority_filter.h"
#include "memory_port.h"

namespace tlsgate::http {
namespace {

using testing::bytes_of;
using testing::MemoryPort;

// A filter that holds every request's body (up to `limit`) before it decides.
class BodyHolder final : public HttpFilter {
 public:
  explicit BodyHolder(size_t limit) : limit_(limit) {}
  std::string_view name() const override { return "body_holder"; }
  FilterStep on_request_head(FilterExchange&) override { return FilterStep::need_body(limit_); }
  FilterStep on_request_body(FilterExchange& ex, const HeldBody& body) override {
    seen.assign(reinterpret_cast<const char*>(body.bytes.data()), body.bytes.size());
    if (hold) {
      resumer = ex.resumer();
      return FilterStep::hold();
    }
    return FilterStep::proceed();
  }
  std::string seen;
  bool hold = false;
  ExchangeResumer resumer;

 private:
  size_t limit_;
};

// A filter that holds every response: at its head (`at_head`), or once its
// whole body came; the test resumes it.
class ResponseHolder final : public HttpFilter {
 public:
  explicit ResponseHolder(bool at_head) : at_head_(at_head) {}
  std::string_view name() const override { return "response_holder"; }
  FilterStep on_response_head(FilterExchange& ex) override {
    if (!at_head_) return FilterStep::need_body(1024);
    resumer = ex.resumer();
    return FilterStep::hold();
  }
  FilterStep on_response_body(FilterExchange& ex, const HeldBody&) override {
    resumer = ex.resumer();
    return FilterStep::hold();
  }
  ExchangeResumer resumer;

 private:
  bool at_head_;
};

// A filter that answers every request itself (a block page that does not
// ask for the connection to close).
class Answerer final : public HttpFilter {
 public:
  std::string_view name() const override { return "answerer"; }
  FilterStep on_request_head(FilterExchange&) override {
    LocalReply r;
    r.status = 403;
    r.body = "no";
    r.outcome = "blocked";
    return FilterStep::respond(std::move(r));
  }
};

class H1EngineTest : public ::testing::Test {
 protected:
  void start() { engine = std::make_unique<H1Engine>(port, chain); }
  void client(std::string_view bytes) { engine->on_bytes(Peer::client, bytes_of(bytes)); }
  void upstream(std::string_view bytes) { engine->on_bytes(Peer::upstream, bytes_of(bytes)); }
  std::string to_upstream() { return port.take(Peer::upstream); }
  std::string to_client() { return port.take(Peer::client); }
  std::vector<std::string> outcomes() const {
    std::vector<std::string> out;
    for (const Exchange& x : port.exchanges) {
      out.push_back(x.method + " " + x.path + " " + (x.status ? std::to_string(*x.status) : "-") +
                    " " + (x.outcome.empty() ? to_string(x.end) : x.outcome));
    }
    return out;
  }

  MemoryPort port;
  FilterChain chain;
  std::unique_ptr<H1Engine> engine;
};

using Lines = std::vector<std::string>;

TEST_F(H1EngineTest, ForwardsAnExchangeAndKeepsTheConnectionForTheNext) {
  start();
  client("GET /a HTTP/1.1\r\nHost: a.example\r\nUser-Agent: t\r\n\r\n");
  EXPECT_EQ(to_upstream(), "GET /a HTTP/1.1\r\nHost: a.example\r\nUser-Agent: t\r\n\r\n");
  upstream("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel");
  upstream("lo");
  EXPECT_EQ(to_client(), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  client("POST /b HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\n\r\nxyz");
  EXPECT_EQ(to_upstream(), "POST /b HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\n\r\nxyz");
  upstream("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(to_client(), "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(outcomes(), (Lines{"GET /a 200 complete", "POST /b 201 complete"}));
  EXPECT_EQ(port.exchanges[0].response_bytes, 5u);
  EXPECT_EQ(port.exchanges[1].request_bytes, 3u);
  EXPECT_FALSE(port.closed);
}

TEST_F(H1EngineTest, PipelinedRequestsGoUpstreamOneAtATimeAndAnswersStayInOrder) {
  start();
  client(
      "GET /1 HTTP/1.1\r\nHost: a.example\r\n\r\n"
      "GET /2 HTTP/1.1\r\nHost: a.example\r\n\r\n"
      "GET /3 HTTP/1.1\r\nHost: a.example\r\n\r\n");
  EXPECT_EQ(to_upstream(), "GET /1 HTTP/1.1\r\nHost: a.example\r\n\r\n");
  upstream("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1");
  EXPECT_EQ(to_upstream(), "GET /2 HTTP/1.1\r\nHost: a.example\r\n\r\n");
  upstream("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2");
  upstream("");
  EXPECT_EQ(to_upstream(), "GET /3 HTTP/1.1\r\nHost: a.example\r\n\r\n");
  upstream("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n3");
  EXPECT_EQ(to_client(),
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1"
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2"
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n3");
  EXPECT_EQ(outcomes(),
            (Lines{"GET /1 200 complete", "GET /2 200 complete", "GET /3 200 complete"}));
}

// Each smuggling shape: 400 from the gateway, nothing upstream, connection
// closed, an event and a count.
TEST_F(H1EngineTest, ASmugglingShapeIsAnswered400AndNeverForwarded) {
  const char* shapes[] = {
      "POST / HTTP/1.1\r\nHost: a.example\r\nContent-Length: 4\r\nTransfer-Encoding: "
      "chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a.example\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd",
      "GET / HTTP/1.1\r\nHost: a.example\r\nX: a\r\n b\r\n\r\n",
      "GET / HTTP/1.1\nHost: a.example\n\n",
  };
  for (const char* shape : shapes) {
    port = MemoryPort();
    start();
    client(shape);
    EXPECT_EQ(to_upstream(), "") << shape;
    EXPECT_EQ(to_client().substr(0, 26), "HTTP/1.1 400 Bad Request\r\n") << shape;
    EXPECT_EQ(port.closed, "http_bad_request") << shape;
    EXPECT_EQ(port.bad_requests, 1u) << shape;
    ASSERT_EQ(port.exchanges.size(), 1u) << shape;
    EXPECT_EQ(port.exchanges[0].outcome, "bad_request");
    client("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");  // nothing more is read
    EXPECT_EQ(to_upstream(), "") << shape;
  }
}

// The head went on before the body showed its fault: the upstream gets no
// byte of the bad framing, only the end of the connection.
TEST_F(H1EngineTest, ABadChunkSizeIsAnswered400AndItsBytesNeverForwarded) {
  start();
  client("POST / HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n");
  to_upstream();
  client("5\r\nhello\r\nzz\r\n0\r\n\r\n");
  EXPECT_EQ(to_upstream(), "5\r\nhello\r\n");
  EXPECT_EQ(to_client().substr(0, 26), "HTTP/1.1 400 Bad Request\r\n");
  EXPECT_EQ(port.closed, "http_bad_request");
  EXPECT_EQ(port.exchanges.at(0).detail, "bad_chunk_size");
}

TEST_F(H1EngineTest, AnOverLongHeadIsAnswered400) {
  start();
  client("GET / HTTP/1.1\r\nHost: a.example\r\nX-Big: " + std::string(H1Engine::kMaxHead, 'x'));
  EXPECT_EQ(to_upstream(), "");
  EXPECT_NE(to_client().find("400 Bad Request"), std::string::npos);
  EXPECT_EQ(port.exchanges.at(0).detail, "head_too_long");
}

TEST_F(H1EngineTest, ChunkedBodiesAndTrailersGoOnRechunked) {
  start();
  client("POST /u HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n");
  client("3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nX-Check: 1\r\n\r\n");
  EXPECT_EQ(to_upstream(),
            "POST /u HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n"
            "3\r\nabc\r\n2\r\nde\r\n0\r\nX-Check: 1\r\n\r\n");
  upstream("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\n\r\n");
  EXPECT_EQ(to_client(),
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\n\r\n");
  EXPECT_EQ(outcomes(), (Lines{"POST /u 200 complete"}));
  EXPECT_EQ(port.exchanges[0].request_bytes, 5u);
}

TEST_F(H1EngineTest, HeadAnd204And304ResponsesHaveNoBody) {
  start();
  client("HEAD /h HTTP/1.1\r\nHost: a.example\r\n\r\n");
  upstream("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
  client("GET /n HTTP/1.1\r\nHost: a.example\r\n\r\n");
  upstream("HTTP/1.1 204 No Content\r\n\r\n");
  client("GET /m HTTP/1.1\r\nHost: a.example\r\n\r\n");
  upstream("HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n");
  EXPECT_EQ(outcomes(),
            (Lines{"HEAD /h 200 complete", "GET /n 204 complete", "GET /m 304 complete"}));
}

TEST_F(H1EngineTest, ConnectionCloseEndsReadingAfterTheResponse) {
  start();
  client("GET / HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n");
  upstream("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  client("GET /again HTTP/1.1\r\nHost: a.example\r\n\r\n");
  EXPECT_EQ(to_upstream(), "GET / HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(port.exchanges.size(), 1u);
}

TEST_F(H1EngineTest, AResponseReadToTheEndOfTheConnectionCompletesThere) {
  start();
  client("GET / HTTP/1.0\r\n\r\n");
  upstream("HTTP/1.0 200 OK\r\n\r\nall of it");
  EXPECT_TRUE(port.exchanges.empty());
  engine->on_end_of_stream(Peer::upstream);
  EXPECT_EQ(to_client(), "HTTP/1.0 200 OK\r\n\r\nall of it");
  EXPECT_EQ(outcomes(), (Lines{"GET / 200 complete"}));
}

TEST_F(H1EngineTest, AClientThatEndsAfterItsRequestStillGetsTheResponse) {
  start();
  client("GET / HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n");
  engine->on_end_of_stream(Peer::client);  // close_notify or FIN: a half-close
  EXPECT_FALSE(port.closed);
  EXPECT_NE(to_upstream().find("GET / HTTP/1.1"), std::string::npos);
  upstream("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
  EXPECT_EQ(to_client(), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
  EXPECT_EQ(outcomes(), (Lines{"GET / 200 complete"}));
  EXPECT_EQ(port.closed, "client_closed");  // once the response went
}

TEST_F(H1EngineTest, AClientThatEndsAfterAKeepAliveRequestGetsTheResponseThenTheFlowCloses) {
  start();
  client("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
  engine->on_end_of_stream(Peer::client);
  upstream("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(to_client(), "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(port.closed, "client_closed");
}

TEST_F(H1EngineTest, AClientThatEndsInTheMiddleOfItsRequestEndsTheFlow) {
  start();
  client("POST / HTTP/1.1\r\nHost: a.example\r\nContent-Length: 10\r\n\r\nabc");
  engine->on_end_of_stream(Peer::client);
  EXPECT_EQ(port.closed, "client_closed");
}

TEST_F(H1EngineTest, AClientThatEndsBetweenRequestsEndsTheFlow) {
  start();
  client("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
  upstream("HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_FALSE(port.closed);
  engine->on_end_of_stream(Peer::client);
  EXPECT_EQ(port.closed, "client_closed");
}

TEST_F(H1EngineTest, AnUpstreamThatEndsEndsTheFlow) {
  start();
  client("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
  upstream("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab");
  engine->on_end_of_stream(Peer::upstream);
  EXPECT_EQ(port.closed, "upstream_closed");
}

TEST_F(H1EngineTest, ExpectContinueIsAnsweredByTheUpstreamWhenNothingHoldsTheBody) {
  start();
  client("PUT /f HTTP/1.1\r\nHost: a.example\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_NE(to_upstream().find("Expect: 100-continue"), std::string::npos);
  upstream("HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_EQ(to_client(), "HTTP/1.1 100 Continue\r\n\r\n");
  client("ok");
  EXPECT_EQ(to_upstream(), "ok");
  upstream("HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(outcomes(), (Lines{"PUT /f 204 complete"}));
}

TEST_F(H1EngineTest, ExpectContinueIsAnsweredByTheGatewayWhenAFilterWaitsForTheBody) {
  auto holder = std::make_unique<BodyHolder>(1024);
  BodyHolder& h = *holder;
  chain.push_back(std::move(holder));
  start();
  client("PUT /f HTTP/1.1\r\nHost: a.example\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(to_upstream(), "");
  EXPECT_EQ(to_client(), "HTTP/1.1 100 Continue\r\n\r\n");
  client("data");
  EXPECT_EQ(h.seen, "data");
  EXPECT_EQ(to_upstream(), "PUT /f HTTP/1.1\r\nHost: a.example\r\nContent-Length: 4\r\n\r\ndata");
}

TEST_F(H1EngineTest, AHoldingFilterPausesTheClientUntilItResumes) {
  auto holder = std::make_unique<BodyHolder>(2);
  BodyHolder& h = *holder;
  h.hold = true;
  chain.push_back(std::move(holder));
  start();
  client("POST /p HTTP/1.1\r\nHost: a.example\r\nContent-Length: 6\r\n\r\nabc");
  EXPECT_EQ(h.seen, "ab");
  EXPECT_TRUE(port.is_paused(Peer::client));
  EXPECT_EQ(to_upstream(), "");
  h.resumer.proceed();
  EXPECT_FALSE(port.is_paused(Peer::client));
  EXPECT_EQ(to_upstream(), "POST /p HTTP/1.1\r\nHost: a.example\r\nContent-Length: 6\r\n\r\nabc");
  client("def");
  EXPECT_EQ(to_upstream(), "def");
}

TEST_F(H1EngineTest, AHeldChunkedBodyGoesOnAsOneChunkThenTheRest) {
  chain.push_back(std::make_unique<BodyHolder>(4));
  start();
  client("POST /p HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n");
  client("6\r\nabcdef\r\n");
  client("2\r\ngh\r\n0\r\n\r\n");
  EXPECT_EQ(to_upstream(),
            "POST /p HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n"
            "6\r\nabcdef\r\n2\r\ngh\r\n0\r\n\r\n");
}

TEST_F(H1EngineTest, AnotherHostIsAnswered421AndClosed) {
  chain.push_back(AuthorityFilterFactory().make(port.flow_context));
  start();
  client("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
  upstream("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  to_upstream();
  to_client();
  client("GET /x HTTP/1.1\r\nHost: other.example\r\n\r\n");
  EXPECT_EQ(to_upstream(), "");
  const std::string answer = to_client();
  EXPECT_EQ(answer.substr(0, 34), "HTTP/1.1 421 Misdirected Request\r\n");
  EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(port.closed, "http_misdirected");
  EXPECT_EQ(outcomes(), (Lines{"GET / 200 complete", "GET /x 421 misdirected"}));
  EXPECT_EQ(port.exchanges[1].host, "other.example");
}

TEST_F(H1EngineTest, AWebSocketUpgradeIsRelayedRawAfterThe101) {
  start();
  client(
      "GET /ws HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  to_upstream();
  EXPECT_FALSE(engine->relaying_raw());
  upstream(
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
      "\x81\x02hi");
  EXPECT_TRUE(engine->relaying_raw());
  EXPECT_EQ(to_client(),
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
            "\x81\x02hi");
  EXPECT_EQ(outcomes(), (Lines{"GET /ws 101 upgrade"}));
}

TEST_F(H1EngineTest, AMalformedResponseIsAnswered502) {
  start();
  client("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
  upstream("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(to_client().substr(0, 26), "HTTP/1.1 502 Bad Gateway\r\n");
  EXPECT_EQ(port.closed, "http_bad_response");
  EXPECT_EQ(outcomes(), (Lines{"GET / 502 bad_response"}));
}

TEST_F(H1EngineTest, AnExchangeCutByTheEndOfTheFlowIsReportedIncomplete) {
  start();
  client("GET /slow HTTP/1.1\r\nHost: a.example\r\n\r\n");
  engine->on_flow_end();
  EXPECT_EQ(outcomes(), (Lines{"GET /slow - incomplete"}));
}

TEST_F(H1EngineTest, ATooLongPipelinePausesTheClient) {
  start();
  std::string many;
  while (many.size() < H1Engine::kMaxBacklog + 100)
    many += "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n";
  client(many);
  EXPECT_TRUE(port.is_paused(Peer::client));
}

TEST_F(H1EngineTest, AHeldResponseReadToTheEndOfTheConnectionIsDeliveredThenClosed) {
  auto holder = std::make_unique<ResponseHolder>(/*at_head=*/false);
  ResponseHolder& h = *holder;
  chain.push_back(std::move(holder));
  start();
  client("GET / HTTP/1.0\r\n\r\n");
  upstream("HTTP/1.0 200 OK\r\n\r\nall of it");
  engine->on_end_of_stream(Peer::upstream);
  // The filter still holds it: the flow must not close yet.
  EXPECT_EQ(to_client(), "");
  EXPECT_FALSE(port.closed);
  h.resumer.proceed();
  EXPECT_EQ(to_client(), "HTTP/1.0 200 OK\r\n\r\nall of it");
  EXPECT_EQ(port.closed, "upstream_closed");
  EXPECT_EQ(outcomes(), (Lines{"GET / 200 complete"}));
  EXPECT_EQ(port.exchanges[0].response_bytes, 9u);
}

TEST_F(H1EngineTest, AResponseHeldAtItsHeadKeepsItsReadToCloseBodyWhole) {
  auto holder = std::make_unique<ResponseHolder>(/*at_head=*/true);
  ResponseHolder& h = *holder;
  chain.push_back(std::move(holder));
  start();
  client("GET / HTTP/1.0\r\n\r\n");
  upstream("HTTP/1.0 200 OK\r\n\r\nfirst ");
  upstream("second");
  engine->on_end_of_stream(Peer::upstream);
  EXPECT_EQ(to_client(), "");
  EXPECT_FALSE(port.closed);
  h.resumer.proceed();
  EXPECT_EQ(to_client(), "HTTP/1.0 200 OK\r\n\r\nfirst second");
  EXPECT_EQ(port.closed, "upstream_closed");
  EXPECT_EQ(outcomes(), (Lines{"GET / 200 complete"}));
}

TEST_F(H1EngineTest, AResponseCutByTheUpstreamsEndClosesTheFlow) {
  start();
  client("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
  upstream("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\ncut");
  engine->on_end_of_stream(Peer::upstream);  // truncated: nothing more will come
  EXPECT_EQ(port.closed, "upstream_closed");
}

TEST_F(H1EngineTest, ALocalReplyToARequestWithASmallBodyReadsItAndKeepsTheConnection) {
  chain.push_back(std::make_unique<Answerer>());
  start();
  client("POST /form HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\n\r\nab");
  const std::string answer = to_client();
  EXPECT_EQ(answer.substr(0, 24), "HTTP/1.1 403 Forbidden\r\n");
  EXPECT_EQ(answer.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(port.exchanges.empty());  // the rest of the body is still to come
  client("cdeGET /next HTTP/1.1\r\nHost: a.example\r\n\r\n");
  EXPECT_FALSE(port.closed);
  // The dropped body never goes upstream; the next request is read after it.
  EXPECT_EQ(to_client().substr(0, 24), "HTTP/1.1 403 Forbidden\r\n");
  EXPECT_EQ(to_upstream(), "");
  EXPECT_EQ(outcomes(), (Lines{"POST /form 403 blocked", "GET /next 403 blocked"}));
  EXPECT_EQ(port.exchanges[0].request_bytes, 5u);
}

TEST_F(H1EngineTest, ALocalReplyClosesWhenTheBodyIsLongChunkedOrNotSentYet) {
  const std::string shapes[] = {
      "POST / HTTP/1.1\r\nHost: a.example\r\nContent-Length: " +
          std::to_string(H1Engine::kMaxDiscardedBody + 1) + "\r\n\r\nab",
      "POST / HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
      "POST / HTTP/1.1\r\nHost: a.example\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
  };
  for (const std::string& shape : shapes) {
    port = MemoryPort();
    chain.clear();
    chain.push_back(std::make_unique<Answerer>());
    start();
    client(shape);
    const std::string answer = to_client();
    EXPECT_EQ(answer.substr(0, 24), "HTTP/1.1 403 Forbidden\r\n") << shape;
    EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos) << shape;
    EXPECT_EQ(port.closed, "http_blocked") << shape;
    EXPECT_EQ(to_upstream(), "") << shape;
    EXPECT_EQ(outcomes(), (Lines{"POST / 403 blocked"})) << shape;
  }
}

}  // namespace
}  // namespace tlsgate::http
