// The CRL fetcher's HTTP client: what it accepts as a URL, and that every
// failure (status, size, time, refused address) is an error saying so.
#include "validation/http_fetch.h"

#include <stdlib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_http_server.h"

namespace tlsgate::tls {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::TestHttpServer;

TEST(HttpUrl, ParsesHostPortAndPath) {
  auto u = HttpUrl::parse("http://crl.lab.test/int.crl");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "crl.lab.test");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->path, "/int.crl");

  u = HttpUrl::parse("HTTP://10.0.0.1:8080/a/b.crl?x=1#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "10.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path, "/a/b.crl?x=1");

  u = HttpUrl::parse("http://[2001:db8::1]:81");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "2001:db8::1");
  EXPECT_EQ(u->port, 81);
  EXPECT_EQ(u->path, "/");

  u = HttpUrl::parse("http://a.test?q");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->path, "/?q");
}

TEST(HttpUrl, RefusesWhatItWillNotFetch) {
  for (const char* bad :
       {"https://crl.test/x", "ldap://crl.test/x", "http://", "http:///x", "http://user@host/x",
        "http://host:0/x", "http://host:65536/x", "http://host:x/x", "http://host:/x",
        "http://[::1/x", "http://[192.0.2.1]/x", "http://host/a b", "http://host/a\r\nX: y",
        "http://host/\x7f", "http://h\xc3\xa9st/x", "crl.test/x"}) {
    EXPECT_FALSE(HttpUrl::parse(bad).has_value()) << bad;
  }
}

class HttpGetTest : public ::testing::Test {
 protected:
  TestHttpServer server_;
  HttpFetchLimits limits_{1000ms, 1000ms, 1024, true};

  std::string get(const std::string& path) {
    return http_get(*HttpUrl::parse(server_.url(path)), limits_);
  }
  std::string error_of(const std::string& path) {
    try {
      get(path);
    } catch (const HttpFetchError& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(HttpGetTest, ReturnsTheBodyOfA200AndSendsAnHttp10Request) {
  server_.set("/a.crl", TestHttpServer::Route::reply(200, std::string("\x30\x82\x00\x01", 4)));
  EXPECT_EQ(get("/a.crl"), std::string("\x30\x82\x00\x01", 4));
  const std::string request = server_.last_request();
  EXPECT_TRUE(request.starts_with("GET /a.crl HTTP/1.0\r\n")) << request;
  EXPECT_THAT(request, HasSubstr("\r\nHost: 127.0.0.1:" + std::to_string(server_.port()) + "\r\n"));
}

TEST_F(HttpGetTest, BodyWithoutContentLengthEndsAtClose) {
  TestHttpServer::Route route = TestHttpServer::Route::reply(200, "abc");
  route.omit_content_length = true;
  server_.set("/x", route);
  EXPECT_EQ(get("/x"), "abc");
}

TEST_F(HttpGetTest, NonOkStatusIsAnError) {
  EXPECT_THAT(error_of("/missing"), HasSubstr("HTTP status 404"));
  server_.set("/moved", TestHttpServer::Route::reply(301, ""));
  EXPECT_THAT(error_of("/moved"), HasSubstr("HTTP status 301"));  // redirects are not followed
}

TEST_F(HttpGetTest, DeclaredOrActualSizeOverTheCapIsAnError) {
  TestHttpServer::Route declared = TestHttpServer::Route::reply(200, "x");
  declared.content_length = 1 << 20;
  server_.set("/declared", declared);
  EXPECT_THAT(error_of("/declared"), HasSubstr("larger than 1024 bytes"));
  TestHttpServer::Route streamed = TestHttpServer::Route::reply(200, std::string(64 * 1024, 'x'));
  streamed.omit_content_length = true;
  server_.set("/streamed", streamed);
  EXPECT_THAT(error_of("/streamed"), HasSubstr("larger than 1024 bytes"));
}

TEST_F(HttpGetTest, TruncatedBodyIsAnError) {
  TestHttpServer::Route route = TestHttpServer::Route::reply(200, "abc");
  route.content_length = 10;
  server_.set("/short", route);
  EXPECT_THAT(error_of("/short"), HasSubstr("truncated"));
}

TEST_F(HttpGetTest, SilentServerTimesOut) {
  TestHttpServer::Route route;
  route.stall = true;
  server_.set("/slow", route);
  limits_.read_timeout = 200ms;
  EXPECT_THAT(error_of("/slow"), HasSubstr("timed out"));
}

TEST_F(HttpGetTest, RefusedConnectionIsAnError) {
  const uint16_t port = testing::closed_port();
  try {
    http_get(*HttpUrl::parse("http://127.0.0.1:" + std::to_string(port) + "/x"), limits_);
    ADD_FAILURE() << "fetched from a closed port";
  } catch (const HttpFetchError& e) {
    EXPECT_THAT(e.what(), HasSubstr("Connection refused"));
  }
}

TEST_F(HttpGetTest, ProxiesFromTheEnvironmentAreNeverUsed) {
  server_.set("/a.crl", TestHttpServer::Route::reply(200, "direct"));
  const std::string proxy = "http://127.0.0.1:" + std::to_string(testing::closed_port());
  for (const char* name : {"http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy"}) {
    ::setenv(name, proxy.c_str(), 1);
  }
  ::unsetenv("no_proxy");
  ::unsetenv("NO_PROXY");
  std::string body;
  std::string error;
  try {
    body = get("/a.crl");
  } catch (const HttpFetchError& e) {
    error = e.what();
  }
  for (const char* name : {"http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy"}) {
    ::unsetenv(name);
  }
  EXPECT_EQ(body, "direct") << error;
  EXPECT_EQ(server_.requests("/a.crl"), 1);
}

TEST_F(HttpGetTest, ErrorStatusBodyIsNotReadWhateverItsSize) {
  server_.set("/gone", TestHttpServer::Route::reply(410, std::string(64 * 1024, 'x')));
  EXPECT_THAT(error_of("/gone"), HasSubstr("HTTP status 410"));
}

TEST_F(HttpGetTest, LoopbackIsRefusedUnlessAllowed) {
  server_.set("/a.crl", TestHttpServer::Route::reply(200, "x"));
  limits_.allow_loopback = false;
  EXPECT_THAT(error_of("/a.crl"), HasSubstr("refusing to fetch from 127.0.0.1"));
  EXPECT_EQ(server_.requests("/a.crl"), 0);
  for (const char* url : {"http://0.0.0.0/x", "http://169.254.169.254/x", "http://[::1]/x",
                          "http://224.0.0.1/x", "http://[::ffff:127.0.0.1]/x"}) {
    try {
      http_get(*HttpUrl::parse(url), limits_);
      ADD_FAILURE() << url;
    } catch (const HttpFetchError& e) {
      EXPECT_THAT(e.what(), HasSubstr("refusing to fetch")) << url;
    }
  }
}

}  // namespace
}  // namespace tlsgate::tls
