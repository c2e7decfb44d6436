#include "http/h1_syntax.h"

#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "http/h1_body_decoder.h"
#include "memory_port.h"

namespace tlsgate::http {
namespace {

using testing::bytes_of;
using namespace std::string_literals;

std::string refusal(std::string_view head) {
  auto parsed = parse_h1_request(head);
  if (auto* e = std::get_if<H1Error>(&parsed)) return e->reason;
  return "accepted";
}

// Every request-smuggling shape the gateway answers 400, one row each.
struct Refused {
  const char* shape;
  std::string head;
  const char* reason;
};

TEST(H1Syntax, RefusesEveryAmbiguousRequestHead) {
  const Refused rows[] = {
      {"CL with TE",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
       "content_length_with_transfer_encoding"},
      {"TE with CL",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
       "content_length_with_transfer_encoding"},
      {"conflicting lengths",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
       "repeated_content_length"},
      {"repeated equal lengths",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
       "repeated_content_length"},
      {"length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
       "repeated_content_length"},
      {"signed length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n",
       "bad_content_length"},
      {"hex length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n",
       "bad_content_length"},
      {"huge length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
       "bad_content_length"},
      {"TE not ending in chunked",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
       "bad_transfer_encoding"},
      {"TE identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n",
       "bad_transfer_encoding"},
      {"TE chunked twice",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
       "chunked\r\n\r\n",
       "bad_transfer_encoding"},
      {"TE obfuscated", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
       "bad_transfer_encoding"},
      {"TE in HTTP/1.0", "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
       "bad_transfer_encoding"},
      {"space before colon", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
       "bad_field_name"},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n", "obs_fold"},
      {"obs-fold with tab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\t2\r\n\r\n", "obs_fold"},
      {"bare LF in a field", "GET / HTTP/1.1\r\nHost: a\nX-A: 1\r\n\r\n", "bare_lf"},
      {"bare LF after the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", "bare_lf"},
      {"bare CR", "GET / HTTP/1.1\r\nHost: a\rX-A: 1\r\n\r\n", "bare_cr"},
      {"NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\0 2\r\n\r\n"s, "control_character"},
      {"NUL in a name", "GET / HTTP/1.1\r\nHost: a\r\nX\0A: 1\r\n\r\n"s, "bad_field_name"},
      {"control character", "GET / HTTP/1.1\r\nHost: a\r\nX-A: \x01\r\n\r\n", "control_character"},
      {"no colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A 1\r\n\r\n", "bad_field"},
      {"two spaces in the request line", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "bad_request_line"},
      {"space in the target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", "bad_request_line"},
      {"HTTP/0.9", "GET /\r\n\r\n", "bad_request_line"},
      {"unknown version", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", "bad_version"},
      {"lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", "bad_version"},
      {"bad method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", "bad_method"},
      {"relative target", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", "bad_target"},
      {"non-ASCII target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", "bad_target"},
      {"no Host", "GET / HTTP/1.1\r\n\r\n", "missing_host"},
      {"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "repeated_host"},
      {"Host with userinfo", "GET / HTTP/1.1\r\nHost: a@b\r\n\r\n", "bad_host"},
      {"Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "bad_host"},
      {"absolute form naming another host", "GET https://b/x HTTP/1.1\r\nHost: a\r\n\r\n",
       "host_mismatch"},
  };
  for (const Refused& row : rows) EXPECT_EQ(refusal(row.head), row.reason) << row.shape;
}

TEST(H1Syntax, ReadsWhatAWellFormedRequestSays) {
  auto parsed = parse_h1_request(
      "POST /up?x=1 HTTP/1.1\r\nHost: A.example:443\r\nTransfer-Encoding: gzip, chunked\r\n"
      "Expect: 100-continue\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
      "X-Empty:\r\n\r\n");
  ASSERT_TRUE(std::holds_alternative<H1Request>(parsed)) << std::get<H1Error>(parsed).reason;
  const H1Request& r = std::get<H1Request>(parsed);
  EXPECT_EQ(r.head.method, "POST");
  EXPECT_EQ(r.head.path, "/up?x=1");
  EXPECT_EQ(r.head.authority, "A.example:443");
  EXPECT_EQ(r.framing, BodyFraming::chunked);
  EXPECT_TRUE(r.expect_continue);
  EXPECT_TRUE(r.upgrade);
  EXPECT_TRUE(r.keep_alive);
  ASSERT_EQ(r.head.headers.size(), 6u);
  EXPECT_EQ(r.head.headers[0].name, "Host");  // every field, in order and case
  EXPECT_EQ(r.head.headers[5].value, "");
}

TEST(H1Syntax, FramingAndPersistenceOfRequests) {
  auto get = [](std::string_view head) { return std::get<H1Request>(parse_h1_request(head)); };
  EXPECT_EQ(get("GET / HTTP/1.1\r\nHost: a\r\n\r\n").framing, BodyFraming::none);
  EXPECT_EQ(get("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").framing,
            BodyFraming::none);
  const H1Request post = get("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n");
  EXPECT_EQ(post.framing, BodyFraming::length);
  EXPECT_EQ(post.content_length, 12u);
  EXPECT_FALSE(get("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keep_alive);
  EXPECT_FALSE(get("GET / HTTP/1.0\r\n\r\n").keep_alive);  // HTTP/1.0 needs no Host
  EXPECT_TRUE(get("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
  EXPECT_EQ(get("GET https://a/x?q HTTP/1.1\r\nHost: A\r\n\r\n").head.path, "/x?q");
  EXPECT_EQ(get("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n").head.authority, "a:443");
  EXPECT_EQ(get("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").head.path, "*");
}

TEST(H1Syntax, ResponsesFrameTheirBodiesAsRfc9112Says) {
  auto get = [](std::string_view head) { return std::get<H1Response>(parse_h1_response(head)); };
  EXPECT_EQ(get("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n").framing, BodyFraming::length);
  EXPECT_EQ(get("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").framing,
            BodyFraming::chunked);
  EXPECT_EQ(get("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n").framing,
            BodyFraming::until_close);
  const H1Response close = get("HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_EQ(close.framing, BodyFraming::until_close);
  EXPECT_FALSE(close.keep_alive);
  EXPECT_EQ(get("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n").framing, BodyFraming::none);
  EXPECT_EQ(get("HTTP/1.1 304 Not Modified\r\n\r\n").framing, BodyFraming::none);
  EXPECT_EQ(get("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").head.status, 200);
  EXPECT_EQ(get("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").reason, "Not Found");
  for (const char* bad : {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                          "HTTP/1.1 200 OK\nContent-Length: 1\r\n\r\n", "HTTP/2 200\r\n\r\n"}) {
    EXPECT_TRUE(std::holds_alternative<H1Error>(parse_h1_response(bad))) << bad;
  }
}

TEST(H1HeadCollector, FindsTheEndOfAHeadAcrossReadsAndBoundsIt) {
  H1HeadCollector c(64);
  size_t used = 0;
  std::string in = "\r\nGET / HTTP/1.1\r\nHost: a\r\n";
  EXPECT_EQ(c.feed(bytes_of(in), used), H1HeadCollector::Status::need_more);
  EXPECT_EQ(used, in.size());
  in = "\r\nbody";
  EXPECT_EQ(c.feed(bytes_of(in), used), H1HeadCollector::Status::complete);
  EXPECT_EQ(used, 2u);
  EXPECT_EQ(c.head(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n");  // the empty line before is skipped
  c.reset();
  EXPECT_EQ(c.feed(bytes_of(std::string(65, 'A')), used), H1HeadCollector::Status::over_limit);
}

// Decodes `body` fed in slices of `step` bytes; the payload and the outcome.
std::string decode_chunked(std::string_view body, size_t step, H1BodyDecoder::Status& status,
                           std::string* trailers = nullptr) {
  H1BodyDecoder d;
  d.start_chunked();
  std::string payload;
  status = H1BodyDecoder::Status::more;
  size_t off = 0;
  while (off < body.size() && status == H1BodyDecoder::Status::more) {
    auto slice = bytes_of(body.substr(off, std::min(step, body.size() - off)));
    size_t pos = 0;
    while (pos < slice.size() && status == H1BodyDecoder::Status::more) {
      size_t used = 0;
      std::span<const uint8_t> out;
      status = d.feed(slice.subspan(pos), used, out);
      payload.append(reinterpret_cast<const char*>(out.data()), out.size());
      pos += used;
    }
    off += slice.size();
  }
  if (trailers) *trailers = std::string(d.trailers());
  return payload;
}

TEST(H1BodyDecoder, ChunkedBodiesWithExtensionsAndTrailersInAnySlices) {
  const std::string body = "5;name=v\r\nhello\r\nA\r\n, chunked!\r\n0\r\nX-Sum: 1\r\n\r\n";
  for (size_t step : {1, 2, 3, 7, 100}) {
    H1BodyDecoder::Status status;
    std::string trailers;
    EXPECT_EQ(decode_chunked(body, step, status, &trailers), "hello, chunked!") << step;
    EXPECT_EQ(status, H1BodyDecoder::Status::done) << step;
    EXPECT_EQ(trailers, "X-Sum: 1\r\n");
  }
}

TEST(H1BodyDecoder, RefusesBadChunkFraming) {
  for (const char* bad : {"g\r\n", "\r\n", "-1\r\n", "5\nhello\r\n", "5\r\nhelloX\r\n",
                          "11111111111111111\r\n", "0\r\nX-A: 1\n\r\n", "0\r\n X-A: 1\r\n\r\n",
                          "5 \r\nhello\r\n0\r\n\r\n", "0\r\nX-A\r\n\r\n"}) {
    H1BodyDecoder::Status status;
    decode_chunked(bad, 100, status);
    EXPECT_EQ(status, H1BodyDecoder::Status::malformed) << bad;
  }
}

TEST(H1BodyDecoder, LengthBodiesEndAfterTheirBytes) {
  H1BodyDecoder d;
  d.start_length(4);
  size_t used = 0;
  std::span<const uint8_t> payload;
  EXPECT_EQ(d.feed(bytes_of("ab"), used, payload), H1BodyDecoder::Status::more);
  EXPECT_EQ(d.feed(bytes_of("cdNEXT"), used, payload), H1BodyDecoder::Status::done);
  EXPECT_EQ(used, 2u);
}

}  // namespace
}  // namespace tlsgate::http
