// The distribution endpoint's answers: install page, each CA in each format
// (PEM, DER, .mobileconfig), the bundle, and what is refused.
#include "distribution/distribution_site.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include "../tls/test_pki.h"
#include "distribution/ca_formats.h"

namespace tlsgate::distribution {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

struct Response {
  std::string status_line;
  std::string headers;
  std::string body;
};

Response parse(const std::string& raw) {
  const auto head_end = raw.find("\r\n\r\n");
  const std::string head = raw.substr(0, head_end);
  return {head.substr(0, head.find("\r\n")), head, raw.substr(head_end + 4)};
}

class DistributionSiteTest : public ::testing::Test {
 protected:
  tls::testing::TempDir dir_;
  std::unique_ptr<tls::CaRegistry> registry_ = tls::CaRegistry::open(dir_.path(), {});

  Response get(const std::string& path, const std::string& method = "GET") {
    return parse(distribution_response(method + " " + path + " HTTP/1.1\r\nHost: gw\r\n\r\n",
                                       registry_->published()));
  }
};

TEST_F(DistributionSiteTest, InstallPageListsEveryPublishedCaWithItsFingerprintAndFiles) {
  registry_->stage("default");
  registry_->init("corp");
  Response r = get("/");
  EXPECT_EQ(r.status_line, "HTTP/1.1 200 OK");
  EXPECT_THAT(r.headers, HasSubstr("content-type: text/html; charset=utf-8"));
  EXPECT_THAT(r.headers, HasSubstr("content-security-policy:"));
  for (const auto& ca : registry_->published()) {
    EXPECT_THAT(r.body, HasSubstr(ca.record.id()));
    EXPECT_THAT(r.body, HasSubstr(colon_fingerprint(ca.ca->store.root())));
    for (const char* ext : {"pem", "cer", "mobileconfig"}) {
      EXPECT_THAT(r.body, HasSubstr("href=\"/ca/" + file_name(ca, ext) + "\""));
    }
  }
  EXPECT_THAT(r.body, HasSubstr("next: install it now"));
  EXPECT_THAT(r.body, HasSubstr("current: tlsgate signs with it"));
  EXPECT_EQ(get("/index.html").body, r.body);
}

TEST_F(DistributionSiteTest, EachFormatCarriesTheRootCertificate) {
  const auto ca = registry_->published().at(0);
  X509* root = ca.ca->store.root();
  EXPECT_EQ(file_name(ca, "pem"), "tlsgate-default-1.pem");

  Response pem = get("/ca/tlsgate-default-1.pem");
  EXPECT_EQ(pem.status_line, "HTTP/1.1 200 OK");
  EXPECT_THAT(pem.headers, HasSubstr("content-type: application/x-pem-file"));
  EXPECT_THAT(pem.headers,
              HasSubstr("content-disposition: attachment; filename=\"tlsgate-default-1.pem\""));
  EXPECT_EQ(pem.body, ca.ca->store.root_pem());

  Response der = get("/ca/tlsgate-default-1.cer");
  EXPECT_THAT(der.headers, HasSubstr("content-type: application/pkix-cert"));
  const auto* p = reinterpret_cast<const unsigned char*>(der.body.data());
  tls::X509Ptr parsed(d2i_X509(nullptr, &p, static_cast<long>(der.body.size())));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(X509_cmp(parsed.get(), root), 0);

  Response profile = get("/ca/tlsgate-default-1.mobileconfig");
  EXPECT_THAT(profile.headers, HasSubstr("content-type: application/x-apple-aspen-config"));
  EXPECT_THAT(profile.body, StartsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
  EXPECT_THAT(profile.body, HasSubstr("<string>com.apple.security.root</string>"));
  EXPECT_EQ(profile.body, mobileconfig_of(root, "tlsgate CA default.1"));
}

TEST_F(DistributionSiteTest, BundleHoldsEveryPublishedRoot) {
  registry_->stage("default");
  Response r = get("/ca/all.pem");
  std::string expected;
  for (const auto& ca : registry_->published()) expected += ca.ca->store.root_pem();
  EXPECT_EQ(r.body, expected);
}

TEST_F(DistributionSiteTest, RetiredOrUnknownFilesAreNotFound) {
  registry_->stage("default");
  registry_->activate("default", std::nullopt);
  EXPECT_EQ(get("/ca/tlsgate-default-1.pem").status_line, "HTTP/1.1 200 OK");  // retiring
  registry_->retire("default", std::nullopt, std::nullopt);
  EXPECT_EQ(get("/ca/tlsgate-default-1.pem").status_line, "HTTP/1.1 404 Not Found");
  EXPECT_THAT(get("/").body, Not(HasSubstr("tlsgate-default-1")));
  for (const char* path : {"/ca/tlsgate-default-9.pem", "/ca/tlsgate-default-2.key",
                           "/ca/../ca/registry.json", "/registry.json", "/ca/"}) {
    EXPECT_EQ(get(path).status_line, "HTTP/1.1 404 Not Found") << path;
  }
}

TEST_F(DistributionSiteTest, OnlyGetAndHead) {
  EXPECT_EQ(get("/", "POST").status_line, "HTTP/1.1 405 Method Not Allowed");
  Response head = get("/ca/tlsgate-default-1.pem", "HEAD");
  EXPECT_EQ(head.status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(head.body, "");
  EXPECT_THAT(
      head.headers,
      HasSubstr("content-length: " + std::to_string(get("/ca/tlsgate-default-1.pem").body.size())));
  EXPECT_EQ(parse(distribution_response("garbage\r\n\r\n", registry_->published())).status_line,
            "HTTP/1.1 400 Bad Request");
  // A query string does not change the file.
  EXPECT_EQ(get("/ca/tlsgate-default-1.pem?x=1").status_line, "HTTP/1.1 200 OK");
}

TEST(CaFormats, MobileconfigEscapesItsNameAndIsStableForOneCertificate) {
  tls::testing::TestPki pki;
  X509* cert = pki.root.cert.get();
  const std::string a = mobileconfig_of(cert, "A <b> & \"c\"");
  EXPECT_THAT(a, HasSubstr("A &lt;b&gt; &amp; &quot;c&quot;"));
  EXPECT_EQ(a, mobileconfig_of(cert, "A <b> & \"c\""));  // same UUIDs: a reinstall replaces it
  tls::testing::TestPki other("Other");
  EXPECT_NE(mobileconfig_of(other.root.cert.get(), "x").substr(0, 2000),
            mobileconfig_of(cert, "x").substr(0, 2000));
  EXPECT_EQ(colon_fingerprint(cert).size(), 32u * 3 - 1);
}

}  // namespace
}  // namespace tlsgate::distribution
