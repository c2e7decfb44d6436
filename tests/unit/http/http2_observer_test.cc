#include "http/http2_observer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "h2_peers.h"
#include "observer_run.h"

namespace tlsgate::http {
namespace {

using testing::answer;
using testing::ask;
using testing::H2Peers;
using testing::H2Wire;
using testing::Observed;
using testing::Piece;
using testing::ResponsePlan;
using testing::run;
using testing::run_random_cuts;
using Lines = std::vector<std::string>;

// The transcript fed whole, byte by byte, in slices and at random cuts
// must be reported the same way.
Observed run_every_way(const std::vector<Piece>& pieces) {
  const Observed whole = run("h2", pieces);
  for (size_t step : {1, 2, 3, 9, 10, 17, 1000}) {
    const Observed cut = run("h2", pieces, step);
    EXPECT_EQ(cut.exchanges, whole.exchanges) << "slices of " << step;
    EXPECT_EQ(cut.stop, whole.stop) << "slices of " << step;
  }
  for (unsigned seed = 1; seed <= 10; ++seed) {
    EXPECT_EQ(run_random_cuts("h2", pieces, seed).exchanges, whole.exchanges)
        << "random cuts, seed " << seed;
  }
  return whole;
}

Lines sorted(Lines lines) {
  std::sort(lines.begin(), lines.end());
  return lines;
}

TEST(Http2Observer, OneRequest) {
  H2Peers peers;
  peers.plan("/index.html?q=1", answer(200, 1234));
  peers.request(ask("GET", "a.example", "/index.html?q=1"));
  peers.exchange();
  const Observed o = run_every_way(peers.transcript);
  EXPECT_EQ(o.exchanges, Lines{"GET a.example /index.html?q=1 200 0/1234 complete #1"});
  EXPECT_EQ(o.stop, ObserverStop::observing);
}

TEST(Http2Observer, ConcurrentStreamsWithBodiesBeyondTheFlowControlWindow) {
  H2Peers peers;
  peers.plan("/small", answer(200, 10));
  peers.plan("/large", answer(200, 300000));  // several WINDOW_UPDATEs
  peers.plan("/upload", answer(201, 0));
  peers.plan("/none", answer(204, 0));
  peers.request(ask("GET", "a.example", "/small"));
  peers.request(ask("GET", "a.example", "/large"));
  peers.request(ask("POST", "b.example", "/upload", 100000));
  peers.request(ask("DELETE", "a.example", "/none"));
  peers.request(ask("GET", "a.example", "/missing"));
  peers.exchange();
  const Observed o = run_every_way(peers.transcript);
  EXPECT_EQ(sorted(o.exchanges), sorted({"GET a.example /small 200 0/10 complete #1",
                                         "GET a.example /large 200 0/300000 complete #3",
                                         "POST b.example /upload 201 100000/0 complete #5",
                                         "DELETE a.example /none 204 0/0 complete #7",
                                         "GET a.example /missing 404 0/0 complete #9"}));
}

TEST(Http2Observer, ManyRequestsKeepHpackInStep) {
  // Repeated and changing header values go through the dynamic table; a
  // decoder out of step would garble later names.
  H2Peers peers;
  Lines expected;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 20; ++i) {
      const std::string path = "/r" + std::to_string(round) + "/" + std::to_string(i);
      peers.plan(path, answer(200, static_cast<size_t>(i)));
      peers.request(ask("GET", "host" + std::to_string(i % 3) + ".example", path, 0,
                        {{"cookie", "session=" + std::string(200, static_cast<char>('a' + i))},
                         {"x-request", std::to_string(round * 100 + i)}}));
    }
    peers.exchange();
  }
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 20; ++i) {
      const int stream = 1 + 2 * (round * 20 + i);
      expected.push_back("GET host" + std::to_string(i % 3) + ".example /r" +
                         std::to_string(round) + "/" + std::to_string(i) + " 200 0/" +
                         std::to_string(i) + " complete #" + std::to_string(stream));
    }
  }
  EXPECT_EQ(sorted(run_every_way(peers.transcript).exchanges), sorted(expected));
}

TEST(Http2Observer, PaddingContinuationAndALargerHeaderTable) {
  H2Peers::Options options;
  options.padding = 37;
  options.server_header_table = 65536;  // lets the client encoder use more than 4096
  options.client_deflate_table = 65536;
  H2Peers peers(options);
  peers.plan("/big-headers", answer(200, 5000));
  Lines expected;
  for (int i = 0; i < 8; ++i) {
    // 20 KiB of headers (~ does not compress): HEADERS + CONTINUATION, and a table past 4096.
    peers.request(ask("GET", "a.example", "/big-headers", 0,
                      {{"x-big-" + std::to_string(i), std::string(20000, '~')}}));
    expected.push_back("GET a.example /big-headers 200 0/5000 complete #" +
                       std::to_string(1 + 2 * i));
  }
  peers.exchange();
  const bool has_continuation =
      std::any_of(peers.transcript.begin(), peers.transcript.end(), [](const Piece& p) {
        return p.bytes.find(std::string("\x09\x04\x00\x00\x00", 5)) != std::string::npos ||
               p.bytes.find(std::string("\x09\x00\x00\x00\x00", 5)) != std::string::npos;
      });
  EXPECT_TRUE(has_continuation) << "the test meant to send CONTINUATION frames";
  EXPECT_EQ(sorted(run_every_way(peers.transcript).exchanges), sorted(expected));
}

TEST(Http2Observer, InterimResponsesAreNotFinal) {
  H2Peers peers;
  peers.plan("/hints", answer(200, 3, {103, 100}));
  peers.request(ask("GET", "a.example", "/hints"));
  peers.exchange();
  EXPECT_EQ(run_every_way(peers.transcript).exchanges,
            Lines{"GET a.example /hints 200 0/3 complete #1"});
}

TEST(Http2Observer, ResetStreams) {
  H2Peers peers;
  ResponsePlan refused;
  refused.reset = true;
  peers.plan("/refused", refused);
  peers.plan("/long", answer(200, 1000000));
  peers.request(ask("GET", "a.example", "/refused"));
  peers.request(ask("GET", "a.example", "/long"));
  peers.exchange();
  peers.request(ask("POST", "a.example", "/refused", 10));
  peers.exchange();
  const Observed o = run_every_way(peers.transcript);
  EXPECT_EQ(sorted(o.exchanges), sorted({"GET a.example /refused - 0/0 reset #1",
                                         "GET a.example /long 200 0/1000000 complete #3",
                                         "POST a.example /refused - 10/0 reset #5"}));
}

TEST(Http2Observer, ClientResetMidDownload) {
  H2Wire wire;
  std::vector<Piece> pieces = {
      {Direction::to_server, H2Wire::preface() + H2Wire::settings({})},
      {Direction::to_client, H2Wire::settings({})},
      {Direction::to_server,
       wire.headers(
           Direction::to_server, 1, NGHTTP2_FLAG_END_STREAM,
           {{":method", "GET"}, {":scheme", "https"}, {":authority", "a"}, {":path", "/v"}})},
      {Direction::to_client,
       wire.headers(Direction::to_client, 1, 0, {{":status", "200"}}) + H2Wire::data(1, 0, 500)},
      {Direction::to_server, H2Wire::rst(1)},
      {Direction::to_client, H2Wire::data(1, NGHTTP2_FLAG_END_STREAM, 100)},  // in flight
  };
  EXPECT_EQ(run_every_way(pieces).exchanges, Lines{"GET a /v 200 0/500 reset #1"});
}

TEST(Http2Observer, ServerPush) {
  H2Peers::Options options;
  options.enable_push = true;
  H2Peers peers(options);
  ResponsePlan page = answer(200, 100);
  page.push_path = "/style.css";
  page.push_body = 42;
  peers.plan("/page", page);
  peers.request(ask("GET", "a.example", "/page"));
  peers.exchange();
  EXPECT_EQ(sorted(run_every_way(peers.transcript).exchanges),
            sorted({"GET a.example /page 200 0/100 complete #1",
                    "GET a.example /style.css 200 0/42 complete #2"}));
}

TEST(Http2Observer, ConnectStreamIsReportedWhenTheTunnelOpens) {
  H2Wire wire;
  const testing::Headers get = {
      {":method", "GET"}, {":scheme", "https"}, {":authority", "a"}, {":path", "/after"}};
  std::vector<Piece> pieces = {
      {Direction::to_server, H2Wire::preface() + H2Wire::settings({})},
      {Direction::to_client, H2Wire::settings({})},
      {Direction::to_server, wire.headers(Direction::to_server, 1, 0,
                                          {{":method", "CONNECT"}, {":authority", "in:443"}})},
      {Direction::to_client, wire.headers(Direction::to_client, 1, 0, {{":status", "200"}})},
      {Direction::to_server, H2Wire::data(1, 0, 300)},
      {Direction::to_client, H2Wire::data(1, 0, 700)},
      {Direction::to_server, wire.headers(Direction::to_server, 3, NGHTTP2_FLAG_END_STREAM, get)},
      {Direction::to_client,
       wire.headers(Direction::to_client, 3, NGHTTP2_FLAG_END_STREAM, {{":status", "204"}})},
      {Direction::to_server, H2Wire::data(1, NGHTTP2_FLAG_END_STREAM, 1)},
  };
  EXPECT_EQ(run_every_way(pieces).exchanges,
            (Lines{"CONNECT in:443  200 0/0 upgrade #1", "GET a /after 204 0/0 complete #3"}));
}

TEST(Http2Observer, OpenStreamsAreReportedIncompleteAtTheEnd) {
  H2Wire wire;
  std::vector<Piece> pieces = {
      {Direction::to_server, H2Wire::preface() + H2Wire::settings({})},
      {Direction::to_server,
       wire.headers(
           Direction::to_server, 1, 0,
           {{":method", "POST"}, {":scheme", "https"}, {":authority", "a"}, {":path", "/p"}}) +
           H2Wire::data(1, 0, 64)},
      {Direction::to_client,
       H2Wire::settings({}) + wire.headers(Direction::to_client, 1, 0, {{":status", "200"}})},
  };
  EXPECT_EQ(run_every_way(pieces).exchanges, Lines{"POST a /p 200 64/0 incomplete #1"});
  EXPECT_TRUE(run("h2", pieces, 0, false).exchanges.empty());
}

TEST(Http2Observer, MalformedInputStopsObserving) {
  H2Wire wire;
  const testing::Headers get = {
      {":method", "GET"}, {":scheme", "https"}, {":authority", "a"}, {":path", "/"}};
  const std::string start = H2Wire::preface() + H2Wire::settings({});
  struct Case {
    const char* name;
    std::string to_server;
  };
  const std::vector<Case> cases = {
      {"HTTP/1 instead of the preface", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"CONTINUATION without HEADERS",
       start + H2Wire::frame(NGHTTP2_CONTINUATION, NGHTTP2_FLAG_END_HEADERS, 1, "\x82")},
      {"DATA on stream 0", start + H2Wire::data(0, 0, 3)},
      {"padding longer than the frame",
       start + H2Wire::frame(NGHTTP2_DATA, NGHTTP2_FLAG_PADDED, 1, std::string("\x09xx", 3))},
      {"SETTINGS of odd length", start + H2Wire::frame(NGHTTP2_SETTINGS, 0, 0, "12345")},
      {"header block that is not HPACK",
       start + H2Wire::frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1,
                             std::string("\xff\xff\xff\xff\xff\xff", 6))},
      {"client stream with an even id",
       start + wire.headers(Direction::to_server, 2, NGHTTP2_FLAG_END_STREAM, get)},
      {"frame between HEADERS and CONTINUATION",
       start + H2Wire::frame(NGHTTP2_HEADERS, 0, 1, wire.block(Direction::to_server, get)) +
           H2Wire::data(1, 0, 1)},
  };
  for (const Case& c : cases) {
    const Observed o = run_every_way({{Direction::to_server, c.to_server}});
    EXPECT_EQ(o.stop, ObserverStop::malformed) << c.name;
    EXPECT_TRUE(o.exchanges.empty()) << c.name;
  }
}

TEST(Http2Observer, TooManyOpenStreamsStop) {
  H2Wire wire;
  std::string requests = H2Wire::preface() + H2Wire::settings({});
  for (uint32_t i = 0; i < Http2Observer::kMaxStreams; ++i) {
    requests += wire.headers(
        Direction::to_server, 1 + 2 * i, NGHTTP2_FLAG_END_STREAM,
        {{":method", "GET"}, {":scheme", "https"}, {":authority", "a"}, {":path", "/s"}});
  }
  EXPECT_EQ(run("h2", {{Direction::to_server, requests}}, 0, false).stop, ObserverStop::observing);
  requests += wire.headers(
      Direction::to_server, 1 + 2 * Http2Observer::kMaxStreams, NGHTTP2_FLAG_END_STREAM,
      {{":method", "GET"}, {":scheme", "https"}, {":authority", "a"}, {":path", "/s"}});
  const Observed o = run("h2", {{Direction::to_server, requests}});
  EXPECT_EQ(o.stop, ObserverStop::over_limit);
  EXPECT_TRUE(o.exchanges.empty());
}

TEST(Http2Observer, LongPathsAreCut) {
  H2Peers peers;
  const std::string path = "/" + std::string(3000, 'p') + "?q=1";
  peers.plan(path, answer(200, 1));
  peers.request(ask("GET", "a.example", path));
  peers.exchange();
  EXPECT_EQ(run("h2", peers.transcript).exchanges,
            Lines{"GET a.example " + path.substr(0, kMaxPath) + " 200 0/1 complete #1 (cut)"});
}

}  // namespace
}  // namespace tlsgate::http
