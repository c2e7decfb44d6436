// The ICAP response parser, table-driven: each answer is fed whole and one
// byte at a time, and must give the same result.
#include "icap/icap_response_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tlsgate::icap {
namespace {

using Status = IcapResponseParser::Status;

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct Fed {
  Status status;
  size_t used;
  IcapResponse response;
  std::string error;
};

Fed feed_whole(const std::string& in, size_t max_body = 1 << 20) {
  IcapResponseParser p(max_body);
  size_t used = 0;
  Status s = p.feed(bytes(in), used);
  return {s, used, p.response(), p.error()};
}

Fed feed_bytewise(const std::string& in, size_t max_body = 1 << 20) {
  IcapResponseParser p(max_body);
  size_t total = 0;
  Status s = Status::need_more;
  for (size_t i = 0; i < in.size() && s == Status::need_more; ++i) {
    size_t used = 0;
    s = p.feed(bytes(in).subspan(i, 1), used);
    total += used;
  }
  return {s, total, p.response(), p.error()};
}

const std::string kVirusHead =
    "HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\nContent-Length: 11\r\n\r\n";

std::string infected_answer() {
  std::string req = "GET http://x/eicar.com HTTP/1.1\r\nHost: x\r\n\r\n";
  return "ICAP/1.0 200 OK\r\nServer: C-ICAP/0.5.10\r\nISTag: \"CI0001-1-clamav-1\"\r\n"
         "X-Infection-Found: Type=0; Resolution=2; Threat=Lab.Eicar.Test.UNOFFICIAL;\r\n"
         "X-Violations-Found: 1\r\n\teicar.com\r\n\tLab.Eicar.Test.UNOFFICIAL\r\n\t0\r\n\t0\r\n"
         "Encapsulated: res-hdr=0, res-body=" +
         std::to_string(kVirusHead.size()) + "\r\n\r\n" + kVirusHead +
         "6\r\nVIRUS \r\n5\r\nFOUND\r\n0\r\n\r\n";
}

TEST(IcapResponseParser, NoContent) {
  std::string in = "ICAP/1.0 204 Unmodified\r\nISTag: \"T1\"\r\nEncapsulated: null-body=0\r\n\r\n";
  for (const Fed& f : {feed_whole(in), feed_bytewise(in)}) {
    EXPECT_EQ(f.status, Status::done) << f.error;
    EXPECT_EQ(f.used, in.size());
    EXPECT_EQ(f.response.status, 204);
    EXPECT_EQ(*http::find_header(f.response.headers, "istag"), "\"T1\"");
  }
}

TEST(IcapResponseParser, ContinueLeavesTheNextResponseUnread) {
  std::string in = "ICAP/1.0 100 Continue\r\n\r\nICAP/1.0 204 Unmodified\r\n\r\n";
  Fed f = feed_whole(in);
  EXPECT_EQ(f.status, Status::done);
  EXPECT_EQ(f.response.status, 100);
  EXPECT_EQ(f.used, std::string("ICAP/1.0 100 Continue\r\n\r\n").size());
}

TEST(IcapResponseParser, InfectedAnswerWithFoldedHeaderAndBody) {
  std::string in = infected_answer();
  for (const Fed& f : {feed_whole(in), feed_bytewise(in)}) {
    ASSERT_EQ(f.status, Status::done) << f.error;
    EXPECT_EQ(f.used, in.size());
    EXPECT_EQ(f.response.status, 200);
    EXPECT_EQ(*http::find_header(f.response.headers, "x-violations-found"),
              "1 eicar.com Lab.Eicar.Test.UNOFFICIAL 0 0");
    ASSERT_TRUE(f.response.response);
    EXPECT_EQ(f.response.response->status, 403);
    EXPECT_FALSE(f.response.request);
    EXPECT_EQ(f.response.body, "VIRUS FOUND");
  }
}

TEST(IcapResponseParser, ModifiedRequestAbsoluteForm) {
  std::string head =
      "POST https://up.example/form?a=b HTTP/1.1\r\nContent-Type: text/plain\r\n\r\n";
  std::string in =
      "ICAP/1.0 200 OK\r\nEncapsulated: req-hdr=0, req-body=" + std::to_string(head.size()) +
      "\r\n\r\n" + head + "3\r\nabc\r\n0\r\n\r\n";
  for (const Fed& f : {feed_whole(in), feed_bytewise(in)}) {
    ASSERT_EQ(f.status, Status::done) << f.error;
    ASSERT_TRUE(f.response.request);
    EXPECT_EQ(f.response.request->method, "POST");
    EXPECT_EQ(f.response.request->scheme, "https");
    EXPECT_EQ(f.response.request->authority, "up.example");
    EXPECT_EQ(f.response.request->path, "/form?a=b");
    EXPECT_EQ(f.response.body, "abc");
  }
}

TEST(IcapResponseParser, NullBodyAfterHeads) {
  std::string head = "HTTP/1.1 403 Forbidden\r\n\r\n";
  std::string in =
      "ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=0, null-body=" + std::to_string(head.size()) +
      "\r\n\r\n" + head;
  Fed f = feed_whole(in);
  ASSERT_EQ(f.status, Status::done) << f.error;
  EXPECT_EQ(f.response.response->status, 403);
  EXPECT_FALSE(f.response.has_body);
}

TEST(IcapResponseParser, ErrorAnswerWithoutEncapsulated) {
  Fed f = feed_whole("ICAP/1.0 503 Service Unavailable\r\n\r\n");
  EXPECT_EQ(f.status, Status::done);
  EXPECT_EQ(f.response.status, 503);
  EXPECT_EQ(f.response.reason, "Service Unavailable");
}

TEST(IcapResponseParser, GarbageIsAnError) {
  struct Case {
    const char* name;
    std::string in;
  };
  std::string good_head = "HTTP/1.1 200 OK\r\n\r\n";
  std::vector<Case> cases = {
      {"http instead of icap", "HTTP/1.1 200 OK\r\n\r\n"},
      {"binary", std::string("\x16\x03\x01\x00\x05hello", 10) + "\r\n\r\n"},
      {"status not a number", "ICAP/1.0 2x4 No\r\n\r\n"},
      {"header without colon", "ICAP/1.0 204 No\r\nBroken\r\n\r\n"},
      {"fold before any header", "ICAP/1.0 204 No\r\n folded\r\n\r\n"},
      {"offsets backwards", "ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=10, res-body=0\r\n\r\n"},
      {"unknown entity", "ICAP/1.0 200 OK\r\nEncapsulated: foo-hdr=0, null-body=5\r\n\r\n"},
      {"body not last", "ICAP/1.0 200 OK\r\nEncapsulated: res-body=0, res-hdr=5\r\n\r\n"},
      {"bad encapsulated head",
       "ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=0, null-body=9\r\n\r\nGARBAGE\r\n"},
      {"bad chunk size",
       "ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=0, res-body=" + std::to_string(good_head.size()) +
           "\r\n\r\n" + good_head + "zz\r\nabc\r\n"},
      {"chunk without CRLF",
       "ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=0, res-body=" + std::to_string(good_head.size()) +
           "\r\n\r\n" + good_head + "3\r\nabcXY0\r\n\r\n"},
      {"bare LF chunk size",
       "ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=0, res-body=" + std::to_string(good_head.size()) +
           "\r\n\r\n" + good_head + "3\nabc\r\n"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(feed_whole(c.in).status, Status::error) << c.name;
    EXPECT_EQ(feed_bytewise(c.in).status, Status::error) << c.name << " (byte by byte)";
  }
}

TEST(IcapResponseParser, LimitsHeadAndBody) {
  std::string long_head = "ICAP/1.0 204 No\r\nX: " + std::string(70 * 1024, 'a') + "\r\n\r\n";
  EXPECT_EQ(feed_whole(long_head).status, Status::error);
  std::string head = "HTTP/1.1 200 OK\r\n\r\n";
  std::string big =
      "ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=0, res-body=" + std::to_string(head.size()) +
      "\r\n\r\n" + head + "11\r\n" + std::string(17, 'b') + "\r\n0\r\n\r\n";
  EXPECT_EQ(feed_whole(big, 16).status, Status::error);
  EXPECT_EQ(feed_whole(big, 17).status, Status::done);
}

TEST(IcapResponseParser, ResetReadsTheNextResponse) {
  IcapResponseParser p(1024);
  std::string a = "ICAP/1.0 100 Continue\r\n\r\n";
  std::string b = "ICAP/1.0 204 No Content\r\n\r\n";
  size_t used = 0;
  ASSERT_EQ(p.feed(bytes(a), used), Status::done);
  p.reset();
  ASSERT_EQ(p.feed(bytes(b), used), Status::done);
  EXPECT_EQ(p.response().status, 204);
}

}  // namespace
}  // namespace tlsgate::icap
