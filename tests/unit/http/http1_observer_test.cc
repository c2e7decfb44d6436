#include "http/http1_observer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "observer_run.h"

namespace tlsgate::http {
namespace {

using testing::end_of;
using testing::Observed;
using testing::Piece;
using testing::run;
using testing::run_random_cuts;
using testing::to_client;
using testing::to_server;
using Lines = std::vector<std::string>;

// Whole pieces, byte by byte, several slice sizes and random cuts must all
// report the same thing.
Observed run_every_way(std::string_view alpn, const std::vector<Piece>& pieces) {
  const Observed whole = run(alpn, pieces);
  for (size_t step : {1, 2, 3, 5, 7, 11, 64}) {
    const Observed cut = run(alpn, pieces, step);
    EXPECT_EQ(cut.exchanges, whole.exchanges) << "slices of " << step;
    EXPECT_EQ(cut.stop, whole.stop) << "slices of " << step;
  }
  for (unsigned seed = 1; seed <= 20; ++seed) {
    const Observed cut = run_random_cuts(alpn, pieces, seed);
    EXPECT_EQ(cut.exchanges, whole.exchanges) << "random cuts, seed " << seed;
  }
  return whole;
}

TEST(Http1Observer, OneRequestAndItsResponse) {
  const Observed o =
      run_every_way("http/1.1", {to_server("GET /index.html?q=1 HTTP/1.1\r\nHost: a.example\r\n"
                                           "User-Agent: t\r\n\r\n"),
                                 to_client("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")});
  EXPECT_EQ(o.exchanges, Lines{"GET a.example /index.html?q=1 200 0/5 complete"});
  EXPECT_EQ(o.stop, ObserverStop::observing);
}

TEST(Http1Observer, PipelinedRequestsWithBodiesMatchResponsesInOrder) {
  const std::string requests =
      "GET /one HTTP/1.1\r\nHost: a.example\r\n\r\n"
      "POST /two HTTP/1.1\r\nHost: a.example\r\nContent-Length: 11\r\n\r\nhello world"
      "PUT /three HTTP/1.1\r\nhost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\n\r\n"
      "\r\nDELETE /four HTTP/1.1\r\nHost: b.example\r\ncontent-length: 0\r\n\r\n";
  const std::string responses =
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
      "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
      "a\r\n0123456789\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: yes\r\n\r\n"
      "HTTP/1.1 500 Oops\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n"
      "HTTP/1.1 204 No Content\r\n\r\n";
  const Observed o = run_every_way("http/1.1", {to_server(requests), to_client(responses)});
  EXPECT_EQ(
      o.exchanges,
      (Lines{"GET a.example /one 200 0/3 complete", "POST a.example /two 201 11/26 complete",
             "PUT a.example /three 500 7/1 complete", "DELETE b.example /four 204 0/0 complete"}));
  EXPECT_EQ(o.stop, ObserverStop::observing);
}

TEST(Http1Observer, KeepAliveExchangesInTurn) {
  std::vector<Piece> pieces;
  Lines expected;
  for (int i = 0; i < 5; ++i) {
    const std::string body(static_cast<size_t>(i * 1000), 'x');
    pieces.push_back(to_server("GET /r" + std::to_string(i) + " HTTP/1.1\r\nHost: k\r\n\r\n"));
    pieces.push_back(to_client("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                               "\r\n\r\n" + body));
    expected.push_back("GET k /r" + std::to_string(i) + " 200 0/" + std::to_string(i * 1000) +
                       " complete");
  }
  EXPECT_EQ(run_every_way("http/1.1", pieces).exchanges, expected);
}

TEST(Http1Observer, HeadAnd204And304HaveNoBody) {
  const Observed o = run_every_way(
      "http/1.1", {to_server("HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nGET /n HTTP/1.1\r\nHost: a\r\n\r\n"
                             "GET /c HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"x\"\r\n\r\n"
                             "GET /after HTTP/1.1\r\nHost: a\r\n\r\n"),
                   // The lengths name the bodies these would have had: none follows.
                   to_client("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
                             "HTTP/1.1 204 No Content\r\n\r\n"
                             "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n"
                             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")});
  EXPECT_EQ(o.exchanges, (Lines{"HEAD a /h 200 0/0 complete", "GET a /n 204 0/0 complete",
                                "GET a /c 304 0/0 complete", "GET a /after 200 0/2 complete"}));
}

TEST(Http1Observer, InterimResponsesAreNotFinal) {
  const Observed o = run_every_way(
      "http/1.1", {to_server("POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                             "Content-Length: 4\r\n\r\n"),
                   to_client("HTTP/1.1 100 Continue\r\n\r\n"), to_server("data"),
                   to_client("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
                             "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")});
  EXPECT_EQ(o.exchanges, Lines{"POST a /up 200 4/0 complete"});
}

TEST(Http1Observer, EarlyResponseWaitsForTheRequestBody) {
  const Observed o = run_every_way(
      "http/1.1", {to_server("POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234"),
                   to_client("HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n"),
                   to_server("56789GET /next HTTP/1.1\r\nHost: a\r\n\r\n"),
                   to_client("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!")});
  EXPECT_EQ(o.exchanges, (Lines{"POST a /big 413 10/0 complete", "GET a /next 200 0/1 complete"}));
}

TEST(Http1Observer, BodyUntilCloseEndsWithTheUpstream) {
  const std::vector<Piece> pieces = {to_server("GET /old HTTP/1.1\r\nHost: a\r\n\r\n"),
                                     to_client("HTTP/1.1 200 OK\r\n\r\nstream of bytes")};
  EXPECT_EQ(run("http/1.1", pieces).exchanges, Lines{"GET a /old 200 0/15 incomplete"});
  std::vector<Piece> closed = pieces;
  closed.push_back(end_of(Direction::to_client));
  EXPECT_EQ(run_every_way("http/1.1", closed).exchanges, Lines{"GET a /old 200 0/15 complete"});
}

TEST(Http1Observer, UnansweredRequestIsReportedIncompleteAtTheEnd) {
  const Observed o = run("http/1.1", {to_server("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")});
  EXPECT_EQ(o.exchanges, Lines{"GET a /slow - 0/0 incomplete"});
  EXPECT_TRUE(run("http/1.1", {to_server("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")}, 0, false)
                  .exchanges.empty());
}

TEST(Http1Observer, WebSocketUpgradeIsReportedAndEndsObserving) {
  const Observed o = run_every_way(
      "http/1.1",
      {to_server("GET /chat HTTP/1.1\r\nHost: ws.example\r\nConnection: keep-alive, Upgrade\r\n"
                 "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n"),
       to_client("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                 "Upgrade: websocket\r\n\r\n\x81\x05hello"),
       to_server(std::string("\x81\x85\x01\x02\x03\x04garbage", 13)),
       to_client("HTTP/1.1 200 OK\r\n\r\n")});
  EXPECT_EQ(o.exchanges, Lines{"GET ws.example /chat 101 0/0 upgrade"});
  EXPECT_EQ(o.stop, ObserverStop::switched);
}

TEST(Http1Observer, UpgradeOfferDeclinedKeepsHttp) {
  const Observed o = run_every_way(
      "http/1.1",
      {to_server("GET /a HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"),
       to_client("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"),
       to_server("GET /b HTTP/1.1\r\nHost: h\r\n\r\n"),
       to_client("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb")});
  EXPECT_EQ(o.exchanges, (Lines{"GET h /a 200 0/1 complete", "GET h /b 200 0/1 complete"}));
}

TEST(Http1Observer, ConnectTunnelIsReportedAndEndsObserving) {
  const Observed o = run_every_way(
      "http/1.1",
      {to_server("CONNECT inner.example:443 HTTP/1.1\r\nHost: inner.example:443\r\n\r\n"),
       to_client("HTTP/1.1 200 Connection established\r\n\r\n"),
       to_server(std::string("\x16\x03\x01\x00\x05hello", 10)),
       to_client(std::string("\x16\x03\x03\x00\x01x", 6))});
  EXPECT_EQ(o.exchanges, Lines{"CONNECT inner.example:443  200 0/0 upgrade"});
  EXPECT_EQ(o.stop, ObserverStop::switched);
}

TEST(Http1Observer, RefusedConnectKeepsHttp) {
  const Observed o = run_every_way(
      "http/1.1", {to_server("CONNECT inner:443 HTTP/1.1\r\nHost: inner:443\r\n\r\n"),
                   to_client("HTTP/1.1 407 Proxy Auth\r\nContent-Length: 2\r\n\r\nno"),
                   to_server("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"),
                   to_client("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")});
  EXPECT_EQ(o.exchanges,
            (Lines{"CONNECT inner:443  407 0/2 complete", "GET a /x 200 0/0 complete"}));
}

TEST(Http1Observer, AbsoluteFormAndMissingHost) {
  const Observed o =
      run("http/1.1",
          {to_server("GET http://abs.example:8080/p?x=1 HTTP/1.1\r\n\r\n"
                     "GET https://abs.example HTTP/1.1\r\n\r\nGET /nohost HTTP/1.0\r\n\r\n"),
           to_client("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                     "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")});
  EXPECT_EQ(o.exchanges,
            (Lines{"GET abs.example:8080 /p?x=1 200 0/0 complete",
                   "GET abs.example / 200 0/0 complete", "GET  /nohost 200 0/0 complete"}));
}

TEST(Http1Observer, LongPathsAreCut) {
  const std::string path = "/" + std::string(2000, 'p');
  const Observed o = run("http/1.1", {to_server("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n"),
                                      to_client("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")});
  ASSERT_EQ(o.exchanges.size(), 1u);
  EXPECT_EQ(o.exchanges[0], "GET a " + path.substr(0, kMaxPath) + " 200 0/0 complete (cut)");
}

struct Malformed {
  const char* name;
  std::vector<Piece> pieces;
};

TEST(Http1Observer, MalformedInputStopsObservingAfterWhatWasComplete) {
  const std::string first =
      "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n";  // answered before the bad part: reported
  const std::string first_answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  const std::vector<Malformed> cases = {
      {"response without request", {to_client("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")}},
      {"bad request line", {to_server("GET /a b c\r\nHost: a\r\n\r\n")}},
      {"control byte in method", {to_server("GE\x01T / HTTP/1.1\r\n\r\n")}},
      {"bad version", {to_server("GET / HTTP/2.0\r\nHost: a\r\n\r\n")}},
      {"conflicting lengths",
       {to_server("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n")}},
      {"bad length", {to_server("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -3\r\n\r\n")}},
      {"folded header", {to_server("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n")}},
      {"header without colon", {to_server("GET / HTTP/1.1\r\nHost a\r\n\r\n")}},
      {"request coding not chunked",
       {to_server("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n")}},
      {"bad chunk size",
       {to_server("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"),
        to_client("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")}},
      {"chunk without CRLF",
       {to_server("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"),
        to_client("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX")}},
      {"bad status line",
       {to_server("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"), to_client("HTTP/1.1 2x0 OK\r\n\r\n")}},
      {"unrequested 101",
       {to_server("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"),
        to_client("HTTP/1.1 101 Switching\r\n\r\n")}},
  };
  for (const Malformed& c : cases) {
    std::vector<Piece> pieces = {to_server(first), to_client(first_answer)};
    pieces.insert(pieces.end(), c.pieces.begin(), c.pieces.end());
    // Whatever follows is not looked at.
    pieces.push_back(to_server("GET /later HTTP/1.1\r\nHost: a\r\n\r\n"));
    pieces.push_back(to_client("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    const Observed o = run_every_way("http/1.1", pieces);
    EXPECT_EQ(o.exchanges, Lines{"GET a /ok 200 0/0 complete"}) << c.name;
    EXPECT_EQ(o.stop, ObserverStop::malformed) << c.name;
  }
}

TEST(Http1Observer, HeadLargerThanTheBoundStops) {
  const std::string big(Http1Observer::kMaxHead, 'v');
  const Observed o =
      run("http/1.1", {to_server("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + big + "\r\n\r\n")});
  EXPECT_EQ(o.stop, ObserverStop::over_limit);
  EXPECT_TRUE(o.exchanges.empty());
  // Just below the bound is followed.
  const std::string fits(Http1Observer::kMaxHead - 100, 'v');
  const Observed ok =
      run("http/1.1", {to_server("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + fits + "\r\n\r\n"),
                       to_client("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")});
  EXPECT_EQ(ok.exchanges, Lines{"GET a / 200 0/0 complete"});
}

TEST(Http1Observer, TooManyPipelinedRequestsStop) {
  std::string requests;
  for (size_t i = 0; i < Http1Observer::kMaxPipelined; ++i) {
    requests += "GET /p HTTP/1.1\r\nHost: a\r\n\r\n";
  }
  EXPECT_EQ(run("http/1.1", {to_server(requests)}, 0, false).stop, ObserverStop::observing);
  requests += "GET /p HTTP/1.1\r\nHost: a\r\n\r\n";
  const Observed o = run("http/1.1", {to_server(requests)});
  EXPECT_EQ(o.stop, ObserverStop::over_limit);
  EXPECT_TRUE(o.exchanges.empty());
}

TEST(Http1Observer, FlowWithoutAlpnThatIsNotHttpIsLeftAlone) {
  for (const std::string& first :
       {std::string("SSH-2.0-OpenSSH_9.2\r\n"), std::string("\x00\x00\x00\x10", 4),
        std::string("* OK IMAP4rev1 ready\r\n")}) {
    EXPECT_EQ(run("", {to_server(first)}).stop, ObserverStop::not_http) << first;
    EXPECT_EQ(run("http/1.1", {to_server(first)}).stop, ObserverStop::malformed) << first;
  }
  // A server that speaks first.
  EXPECT_EQ(run("", {to_client("220 smtp ready\r\n\r\n")}).stop, ObserverStop::not_http);
  // Without ALPN, HTTP/1 is still observed.
  const Observed o = run("", {to_server("GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
                              to_client("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")});
  EXPECT_EQ(o.exchanges, Lines{"GET a / 200 0/1 complete"});
}

}  // namespace
}  // namespace tlsgate::http
