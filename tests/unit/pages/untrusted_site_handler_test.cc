// The whole "continue" flow of a warning page, as a user would click it:
// warning → continue → exception granted → redirect; and every way it must
// refuse (SECURITY-BATTERY case 27).
#include "pages/untrusted_site_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "../support/temp_dir.h"

namespace tlsgate::pages {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using Clock = ExceptionToken::Clock;

using StateDir = tlsgate::test_support::TempDir;

const IpAddress kClient = *IpAddress::parse("192.168.1.20");
const std::string kFp(64, 'c');

UntrustedSite site(const std::string& host = "bad.lab.test", const std::string& fp = kFp) {
  UntrustedSite s;
  s.host = host;
  s.error_class = tls::CertErrorClass::self_signed;
  s.detail = "self-signed certificate";
  s.certificate.subject = "CN=" + host;
  s.certificate.issuer = "CN=" + host;
  s.certificate.fingerprint_sha256 = fp;
  return s;
}

// The token in the page's continue form ("" when there is none).
std::string token_in(const std::string& body) {
  const std::string marker = "name=\"token\" value=\"";
  const size_t start = body.find(marker);
  if (start == std::string::npos) return "";
  const size_t from = start + marker.size();
  return body.substr(from, body.find('"', from) - from);
}

class PromptFlowTest : public ::testing::Test {
 protected:
  StateDir dir_;
  ExceptionToken tokens_ = ExceptionToken::open_or_create(dir_.path());
  ExceptionStore exceptions_;
  Clock::time_point now_ = Clock::now();

  PromptSettings settings(const IpAddress& client = kClient) {
    PromptSettings s;
    s.client = client;
    s.tokens = &tokens_;
    s.exceptions = &exceptions_;
    s.exception_ttl = 1h;
    s.token_lifetime = 10min;
    s.now = [this] { return now_; };
    return s;
  }
  static PageRequest get(const std::string& path) { return {"GET", "bad.lab.test", path}; }
};

TEST_F(PromptFlowTest, ContinueGrantsTheExceptionAndRedirectsToTheOriginalPath) {
  PageHandler handler = make_warning_handler(site(), settings());
  PageResponse warning = handler(get("/inbox?id=7"));
  EXPECT_EQ(warning.status, 403);
  const std::string token = token_in(warning.body);
  ASSERT_FALSE(token.empty()) << warning.body;
  EXPECT_FALSE(exceptions_.allowed(kClient, "bad.lab.test", kFp, now_));

  // The browser submits the form on a new connection (Connection: close).
  PageHandler next_connection = make_warning_handler(site(), settings());
  PageResponse r = next_connection(get(std::string(kContinuePath) + "?token=" + token));
  EXPECT_EQ(r.status, 303);
  EXPECT_EQ(r.header("location"), "/inbox?id=7");
  EXPECT_TRUE(exceptions_.allowed(kClient, "bad.lab.test", kFp, now_));
  EXPECT_TRUE(exceptions_.allowed(kClient, "bad.lab.test", kFp, now_ + 59min));
  EXPECT_FALSE(exceptions_.allowed(kClient, "bad.lab.test", kFp, now_ + 1h));
}

TEST_F(PromptFlowTest, TokenForOneHostDoesNotContinueToAnother) {
  const std::string token = token_in(make_warning_handler(site(), settings())(get("/")).body);
  PageHandler other = make_warning_handler(site("other.lab.test"), settings());
  PageResponse r = other(get(std::string(kContinuePath) + "?token=" + token));
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(r.body, HasSubstr("issued for another site"));
  EXPECT_EQ(exceptions_.size(), 0u);
}

TEST_F(PromptFlowTest, TokenFromAnotherDeviceOrCertificateIsRefused) {
  const std::string token = token_in(make_warning_handler(site(), settings())(get("/")).body);
  PageResponse r = make_warning_handler(site(), settings(*IpAddress::parse("192.168.1.99")))(
      get(std::string(kContinuePath) + "?token=" + token));
  EXPECT_THAT(r.body, HasSubstr("issued for another device"));
  r = make_warning_handler(site("bad.lab.test", std::string(64, 'd')),
                           settings())(get(std::string(kContinuePath) + "?token=" + token));
  EXPECT_THAT(r.body, HasSubstr("certificate changed"));
  EXPECT_EQ(exceptions_.size(), 0u);
}

TEST_F(PromptFlowTest, ExpiredOrMissingTokenIsRefused) {
  const std::string token = token_in(make_warning_handler(site(), settings())(get("/")).body);
  now_ += 11min;
  PageResponse r =
      make_warning_handler(site(), settings())(get(std::string(kContinuePath) + "?token=" + token));
  EXPECT_THAT(r.body, HasSubstr("it has expired"));
  r = make_warning_handler(site(), settings())(get(std::string(kContinuePath)));
  EXPECT_THAT(r.body, HasSubstr("not a valid continue link"));
  EXPECT_EQ(exceptions_.size(), 0u);
}

TEST_F(PromptFlowTest, OnlyGetAndHeadContinue) {
  const std::string token = token_in(make_warning_handler(site(), settings())(get("/")).body);
  PageResponse r = make_warning_handler(
      site(), settings())({"POST", "bad.lab.test", std::string(kContinuePath) + "?token=" + token});
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "GET, HEAD");
  EXPECT_EQ(exceptions_.size(), 0u);
}

TEST_F(PromptFlowTest, SiteWithoutCertificateGetsTheBlockPage) {
  PageResponse r = make_warning_handler(site("bad.lab.test", ""), settings())(get("/"));
  EXPECT_THAT(r.body, HasSubstr("This connection was blocked"));
  EXPECT_THAT(r.body, Not(HasSubstr("<form")));
}

TEST_F(PromptFlowTest, MissingCollaboratorsAreRefused) {
  PromptSettings s = settings();
  s.tokens = nullptr;
  EXPECT_THROW(make_warning_handler(site(), s), std::invalid_argument);
}

TEST(BlockHandler, EveryRequestGetsTheBlockPageEvenTheContinuePath) {
  PageHandler handler = make_block_handler(site());
  for (const std::string& path : {std::string("/"), std::string(kContinuePath) + "?token=x"}) {
    PageResponse r = handler({"GET", "bad.lab.test", path});
    EXPECT_EQ(r.status, 403);
    EXPECT_THAT(r.body, HasSubstr("This connection was blocked"));
  }
}

TEST(QueryParameter, FindsTheNamedValue) {
  EXPECT_EQ(query_parameter("/p?token=abc", "token"), "abc");
  EXPECT_EQ(query_parameter("/p?a=1&token=xyz&b=2", "token"), "xyz");
  EXPECT_EQ(query_parameter("/p?xtoken=1&token=2", "token"), "2");
  EXPECT_EQ(query_parameter("/p?token", "token"), "");
  EXPECT_EQ(query_parameter("/p", "token"), "");
}

}  // namespace
}  // namespace tlsgate::pages
