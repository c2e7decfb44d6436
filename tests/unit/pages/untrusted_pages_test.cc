// Block and warning pages: what the user reads, the headers that keep them
// unframeable and uncached (cases 26 and 29), and escaping of every echo.
#include "pages/untrusted_pages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace tlsgate::pages {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using tls::CertErrorClass;

UntrustedSite expired_site() {
  UntrustedSite site;
  site.host = "expired.lab.test";
  site.error_class = CertErrorClass::expired;
  site.detail = "certificate has expired at depth 0 (CN=expired.lab.test)";
  site.certificate.subject = "CN=expired.lab.test";
  site.certificate.issuer = "CN=Lab Intermediate,O=Lab";
  site.certificate.fingerprint_sha256 = std::string(64, 'a');
  return site;
}

// A site whose every echoed field tries to inject markup.
UntrustedSite hostile_site() {
  UntrustedSite site;
  site.host = "<script>alert(1)</script>.test";
  site.error_class = CertErrorClass::hostname_mismatch;
  site.detail = "\"><img src=x onerror=alert(2)>";
  site.certificate.subject = "CN=<b>bold</b>&co,O='quoted'";
  site.certificate.issuer = "CN=caf\xc3\xa9 <i>CA</i>";
  site.certificate.fingerprint_sha256 = "\"onmouseover=\"alert(3)";
  return site;
}

void expect_page_headers(const PageResponse& r) {
  EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.header("content-security-policy"),
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
            "form-action 'self'");
  EXPECT_EQ(r.header("x-frame-options"), "DENY");
  EXPECT_EQ(r.header("cache-control"), "no-store");
  EXPECT_EQ(r.header("referrer-policy"), "no-referrer");
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
}

TEST(BlockPage, NamesHostReasonAndCertificate) {
  PageResponse r = render_block_page(expired_site(), "/login?next=1");
  EXPECT_EQ(r.status, 403);
  expect_page_headers(r);
  EXPECT_THAT(r.body, HasSubstr("<title>Blocked: expired.lab.test</title>"));
  EXPECT_THAT(r.body, HasSubstr("<strong>expired.lab.test</strong>"));
  EXPECT_THAT(r.body, HasSubstr("The server&#39;s certificate has expired."));
  EXPECT_THAT(r.body, HasSubstr("certificate has expired at depth 0"));
  EXPECT_THAT(r.body, HasSubstr("CN=Lab Intermediate,O=Lab"));
  EXPECT_THAT(r.body, HasSubstr(std::string(64, 'a')));
  EXPECT_THAT(r.body, HasSubstr("https://expired.lab.test/login?next=1"));
  EXPECT_THAT(r.body, HasSubstr("Reason code: expired"));
  EXPECT_THAT(r.body, HasSubstr("What you can do"));
  // A block page offers no way through.
  EXPECT_THAT(r.body, Not(HasSubstr("<form")));
  EXPECT_THAT(r.body, Not(HasSubstr("continue")));
}

TEST(BlockPage, EveryEchoedValueIsEscaped) {
  PageResponse r = render_block_page(hostile_site(), "/\"><script>alert(4)</script>");
  EXPECT_THAT(r.body, Not(HasSubstr("<script")));
  EXPECT_THAT(r.body, Not(HasSubstr("<img")));
  EXPECT_THAT(r.body, Not(HasSubstr("<b>")));
  EXPECT_THAT(r.body, Not(HasSubstr("<i>")));
  EXPECT_THAT(r.body, Not(HasSubstr("\"onmouseover")));
  EXPECT_THAT(r.body, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;.test"));
  EXPECT_THAT(r.body, HasSubstr("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
  EXPECT_THAT(r.body, HasSubstr("CN=&lt;b&gt;bold&lt;/b&gt;&amp;co,O=&#39;quoted&#39;"));
  EXPECT_THAT(r.body, HasSubstr("caf\xc3\xa9 &lt;i&gt;CA&lt;/i&gt;"));
}

TEST(BlockPage, ClientCertificateAdviceAndNoCertificateCase) {
  UntrustedSite site;
  site.host = "mtls.lab.test";
  site.error_class = CertErrorClass::client_cert_required;
  PageResponse r = render_block_page(site, "/");
  EXPECT_THAT(r.body, HasSubstr("requires a client certificate"));
  EXPECT_THAT(r.body, HasSubstr("exempt <strong>mtls.lab.test</strong> from inspection"));
  EXPECT_THAT(r.body, HasSubstr("presented no certificate"));
}

TEST(BlockPage, EveryClassHasItsOwnWords) {
  std::set<std::string_view> seen;
  for (CertErrorClass c : tls::all_cert_error_classes()) {
    EXPECT_FALSE(describe(c).empty());
    seen.insert(describe(c));
  }
  EXPECT_EQ(seen.size(), tls::all_cert_error_classes().size());
}

TEST(WarningPage, HasAContinueFormCarryingTheToken) {
  PageResponse r = render_warning_page(expired_site(), "/a", "TOKEN-abc_123", 1h);
  EXPECT_EQ(r.status, 403);
  expect_page_headers(r);
  EXPECT_THAT(r.body, HasSubstr("<form method=\"get\" action=\"/.well-known/tlsgate/continue\">"));
  EXPECT_THAT(r.body, HasSubstr("<input type=\"hidden\" name=\"token\" value=\"TOKEN-abc_123\">"));
  EXPECT_THAT(r.body, HasSubstr("Continue to expired.lab.test (unsafe)"));
  EXPECT_THAT(r.body, HasSubstr("for 1 hour"));
  EXPECT_THAT(r.body, HasSubstr("The server&#39;s certificate has expired."));
  EXPECT_THAT(render_warning_page(expired_site(), "/", "t", 90min).body,
              HasSubstr("for 90 minutes"));
  EXPECT_THAT(render_warning_page(expired_site(), "/", "t", 2h).body, HasSubstr("for 2 hours"));
}

TEST(WarningPage, EveryEchoedValueIsEscapedIncludingTheToken) {
  PageResponse r = render_warning_page(hostile_site(), "/<script>", "\"><script>x</script>", 1h);
  EXPECT_THAT(r.body, Not(HasSubstr("<script")));
  EXPECT_THAT(r.body, Not(HasSubstr("<img")));
  EXPECT_THAT(r.body, HasSubstr("value=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""));
}

TEST(ContinueRefusedPage, SaysWhyAndLinksBack) {
  PageResponse r = render_continue_refused_page(expired_site(), "it has expired");
  EXPECT_EQ(r.status, 403);
  expect_page_headers(r);
  EXPECT_THAT(r.body, HasSubstr("it has expired"));
  EXPECT_THAT(r.body, HasSubstr("<a href=\"/\">"));
  EXPECT_THAT(r.body, Not(HasSubstr("<form")));
}

TEST(ContinueRedirect, GoesToTheOriginalPathOnThisOriginOnly) {
  PageResponse r = continue_redirect("/inbox?id=3");
  EXPECT_EQ(r.status, 303);
  EXPECT_EQ(r.header("location"), "/inbox?id=3");
  EXPECT_EQ(r.header("cache-control"), "no-store");
  for (const char* bad : {"//evil.example/", "/\\evil.example", "https://evil.example/", "",
                          "/a\r\nSet-Cookie: x=1", "/a b", "evil"}) {
    EXPECT_EQ(continue_redirect(bad).header("location"), "/") << bad;
  }
}

}  // namespace
}  // namespace tlsgate::pages
