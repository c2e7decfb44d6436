// The HTTP/1.x page responder with raw requests: one request answered with
// "connection: close", pipelined requests not processed, every malformed or
// oversized head refused with the right status.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

#include "pages/page_responder.h"

namespace tlsgate::pages {
namespace {

using namespace std::string_view_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string text(const std::vector<uint8_t>& v) {
  return std::string(v.begin(), v.end());
}

class Http1Test : public ::testing::Test {
 protected:
  std::vector<PageRequest> seen_;
  PageResponder responder_{"http/1.1", [this](const PageRequest& r) {
                             seen_.push_back(r);
                             PageResponse page;
                             page.status = 403;
                             page.headers = page_security_headers();
                             page.body = "<p>blocked</p>";
                             return page;
                           }};

  std::string feed(std::string_view s) { return text(responder_.feed(bytes(s))); }
};

TEST_F(Http1Test, AnswersOneRequestAndCloses) {
  const std::string out =
      feed("GET /path?q=1 HTTP/1.1\r\nHost: bad.lab.test\r\nAccept: */*\r\n\r\n");
  EXPECT_THAT(out, StartsWith("HTTP/1.1 403 Forbidden\r\n"));
  EXPECT_THAT(out, HasSubstr("\r\nx-frame-options: DENY\r\n"));
  EXPECT_THAT(out, HasSubstr("\r\ncontent-length: 14\r\n"));
  EXPECT_THAT(out, HasSubstr("\r\nconnection: close\r\n\r\n<p>blocked</p>"));
  EXPECT_TRUE(responder_.finished());
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].method, "GET");
  EXPECT_EQ(seen_[0].authority, "bad.lab.test");
  EXPECT_EQ(seen_[0].path, "/path?q=1");
}

TEST_F(Http1Test, WaitsForTheWholeHeadAcrossFeeds) {
  const std::string request = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
  for (size_t i = 0; i + 1 < request.size(); ++i) {
    EXPECT_EQ(feed(request.substr(i, 1)), "") << i;
    EXPECT_FALSE(responder_.finished());
  }
  EXPECT_THAT(feed(request.substr(request.size() - 1)), StartsWith("HTTP/1.1 403"));
  EXPECT_TRUE(responder_.finished());
}

TEST_F(Http1Test, PipelinedRequestsAfterTheFirstAreNotProcessed) {
  const std::string out =
      feed("GET /one HTTP/1.1\r\nHost: a.test\r\n\r\nGET /two HTTP/1.1\r\nHost: a.test\r\n\r\n");
  EXPECT_EQ(out.find("HTTP/1.1"), out.rfind("HTTP/1.1"));  // one response
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].path, "/one");
  EXPECT_EQ(feed("GET /three HTTP/1.1\r\nHost: a.test\r\n\r\n"), "");
  EXPECT_EQ(seen_.size(), 1u);
}

TEST_F(Http1Test, HeadGetsHeadersOnly) {
  const std::string out = feed("HEAD / HTTP/1.1\r\nHost: a.test\r\n\r\n");
  EXPECT_THAT(out, HasSubstr("content-length: 14\r\n"));
  EXPECT_TRUE(out.ends_with("\r\n\r\n")) << out;
}

TEST_F(Http1Test, Http10WithoutHostAndLfOnlyLinesAndLeadingBlankLines) {
  EXPECT_THAT(feed("\r\n\nGET /x HTTP/1.0\nUser-Agent: old\n\n"), StartsWith("HTTP/1.1 403"));
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].authority, "");
  EXPECT_EQ(seen_[0].path, "/x");
}

TEST_F(Http1Test, AbsoluteFormTargetGivesAuthorityAndPath) {
  feed("GET https://bad.lab.test/a?b HTTP/1.1\r\nHost: other.test\r\n\r\n");
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].authority, "bad.lab.test");
  EXPECT_EQ(seen_[0].path, "/a?b");
}

TEST_F(Http1Test, OversizedHeadIs431) {
  std::string request = "GET / HTTP/1.1\r\nHost: a.test\r\nX-Big: " + std::string(20000, 'x');
  const std::string out = feed(request);  // never finished by an empty line
  EXPECT_THAT(out, StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  EXPECT_THAT(out, HasSubstr("connection: close"));
  EXPECT_TRUE(responder_.finished());
  EXPECT_TRUE(seen_.empty());
}

TEST_F(Http1Test, OversizedButCompleteHeadIs431Too) {
  const std::string out =
      feed("GET / HTTP/1.1\r\nHost: a.test\r\nX-Big: " + std::string(20000, 'x') + "\r\n\r\n");
  EXPECT_THAT(out, StartsWith("HTTP/1.1 431"));
}

TEST_F(Http1Test, EndlessBlankLinesAre400) {
  EXPECT_THAT(feed(std::string(20000, '\n')), StartsWith("HTTP/1.1 400"));
}

struct Malformed {
  const char* name;
  std::string_view request;  // may hold NUL bytes
  int status;
};

class Http1Malformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(Http1Malformed, IsRefusedWithoutCallingTheHandler) {
  bool called = false;
  PageResponder responder("", [&](const PageRequest&) {
    called = true;
    return PageResponse{};
  });
  const std::string out = text(responder.feed(bytes(GetParam().request)));
  EXPECT_THAT(out, StartsWith("HTTP/1.1 " + std::to_string(GetParam().status) + " "));
  EXPECT_THAT(out, HasSubstr("x-content-type-options: nosniff"));
  EXPECT_TRUE(responder.finished());
  EXPECT_FALSE(called);
}

INSTANTIATE_TEST_SUITE_P(
    Requests, Http1Malformed,
    ::testing::Values(
        Malformed{"no_host_in_1_1", "GET / HTTP/1.1\r\n\r\n", 400},
        Malformed{"two_hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        Malformed{"no_version", "GET /\r\nHost: a\r\n\r\n", 400},
        Malformed{"extra_space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        Malformed{"bad_method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        Malformed{"relative_target", "GET index.html HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        Malformed{"connect", "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n", 400},
        Malformed{"space_before_colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
        Malformed{"no_colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", 400},
        Malformed{"obs_fold", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", 400},
        Malformed{"nul_in_value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"sv, 400},
        Malformed{"http_2_0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
        Malformed{"http_0_9_style", "GET / HTTP/x\r\nHost: a\r\n\r\n", 400},
        Malformed{"h2_preface_without_alpn", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
        Malformed{"tls_bytes", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"sv, 400}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Http1Responder, FailingHandlerGives500) {
  PageResponder responder(
      "http/1.1", [](const PageRequest&) -> PageResponse { throw std::runtime_error("boom"); });
  std::string_view request = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_THAT(text(responder.feed(bytes(request))), StartsWith("HTTP/1.1 500"));
  EXPECT_TRUE(responder.finished());
}

}  // namespace
}  // namespace tlsgate::pages
