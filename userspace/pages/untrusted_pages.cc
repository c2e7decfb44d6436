#include "pages/untrusted_pages.h"

#include <algorithm>

#include "pages/html.h"

namespace tlsgate::pages {
namespace {

using tls::CertErrorClass;

std::string or_none(const std::string& value) {
  return value.empty() ? "<em>(none)</em>" : html_escape(value);
}

std::string certificate_section(const tls::PeerCertSummary& cert) {
  if (cert.subject.empty() && cert.fingerprint_sha256.empty()) {
    return "<h2>The server's certificate</h2><p>The server presented no certificate.</p>\n";
  }
  return "<h2>The server's certificate</h2><dl><dt>Subject</dt><dd>" + or_none(cert.subject) +
         "</dd><dt>Issuer</dt><dd>" + or_none(cert.issuer) +
         "</dd><dt>SHA-256 fingerprint</dt><dd><code>" + or_none(cert.fingerprint_sha256) +
         "</code></dd></dl>\n";
}

std::string reason_section(const UntrustedSite& site) {
  std::string out =
      "<h2>Reason</h2><p><strong>" + html_escape(describe(site.error_class)) + "</strong></p>";
  if (!site.detail.empty()) out += "<p class=\"detail\">" + html_escape(site.detail) + "</p>";
  return out + "\n";
}

std::string requested(const UntrustedSite& site, std::string_view path) {
  return "<p class=\"foot\">Requested: https://" + html_escape(site.host) + html_escape(path) +
         "<br>Reason code: " + html_escape(tls::to_string(site.error_class)) + "</p>\n";
}

std::string duration_words(std::chrono::milliseconds ttl) {
  using namespace std::chrono;
  auto plural = [](long long n, const char* unit) {
    return std::to_string(n) + " " + unit + (n == 1 ? "" : "s");
  };
  if (ttl >= hours(1) && ttl % hours(1) == milliseconds(0)) {
    return plural(duration_cast<hours>(ttl).count(), "hour");
  }
  if (ttl >= minutes(1))
    return plural(std::max<long long>(1, duration_cast<minutes>(ttl).count()), "minute");
  return plural(std::max<long long>(1, duration_cast<seconds>(ttl).count()), "second");
}

bool plain_absolute_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  // "//host" and "/\host" are read by browsers as another origin.
  if (path.size() > 1 && (path[1] == '/' || path[1] == '\\')) return false;
  return std::all_of(path.begin(), path.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7F;
  });
}

}  // namespace

std::string_view describe(CertErrorClass error_class) {
  switch (error_class) {
    case CertErrorClass::expired:
      return "The server's certificate has expired.";
    case CertErrorClass::not_yet_valid:
      return "The server's certificate is not valid yet.";
    case CertErrorClass::hostname_mismatch:
      return "The server's certificate was issued for other names than the one you asked for.";
    case CertErrorClass::self_signed:
      return "The server's certificate is self-signed: no certificate authority vouches for it.";
    case CertErrorClass::untrusted_root:
      return "The server's certificate chain ends at a certificate authority this gateway does "
             "not trust.";
    case CertErrorClass::incomplete_chain:
      return "The server did not send the intermediate certificates needed to check its "
             "certificate.";
    case CertErrorClass::invalid_signature:
      return "A signature in the server's certificate chain or handshake is invalid.";
    case CertErrorClass::not_a_ca:
      return "A certificate in the server's chain acts as a certificate authority but is not one.";
    case CertErrorClass::bad_usage:
      return "The server's certificate is not allowed to be used by web servers.";
    case CertErrorClass::revoked:
      return "The server's certificate has been revoked by its issuer.";
    case CertErrorClass::revocation_unknown:
      return "Whether the server's certificate has been revoked could not be checked.";
    case CertErrorClass::weak_key:
      return "The server's certificate chain uses a key that is too weak.";
    case CertErrorClass::weak_signature:
      return "The server's certificate chain uses a weak signature algorithm (such as SHA-1 or "
             "MD5).";
    case CertErrorClass::bad_protocol:
      return "The server offers only outdated or insecure TLS versions or ciphers.";
    case CertErrorClass::no_certificate:
      return "The server did not present a certificate.";
    case CertErrorClass::client_cert_required:
      return "The server requires a client certificate, which cannot be presented through this "
             "gateway.";
    case CertErrorClass::other:
      break;
  }
  return "The server's certificate could not be validated.";
}

PageResponse render_block_page(const UntrustedSite& site, std::string_view request_path) {
  const std::string host = html_escape(site.host);
  std::string advice =
      site.error_class == CertErrorClass::client_cert_required
          ? "<li>Ask your network administrator to exempt <strong>" + host +
                "</strong> from inspection, so that your device can present its certificate "
                "directly.</li>"
          : "<li>If you run this server, fix its certificate; the page will load once it "
            "validates.</li><li>If you believe this block is wrong, contact your network "
            "administrator with the host name and the reason above.</li>";
  return forbidden_page(page_head("Blocked: " + site.host) +
                        "<main><h1>This connection was blocked</h1>\n<p>The security gateway of "
                        "this network did not connect you to <strong>" +
                        host +
                        "</strong> because the server could not be verified as genuine. Nothing "
                        "you send is passed to it.</p>\n" +
                        reason_section(site) + certificate_section(site.certificate) +
                        "<h2>What you can do</h2><ul>" + advice + "</ul>\n" +
                        requested(site, request_path) + "</main></body></html>\n");
}

PageResponse render_warning_page(const UntrustedSite& site, std::string_view request_path,
                                 std::string_view continue_token,
                                 std::chrono::milliseconds exception_ttl) {
  const std::string host = html_escape(site.host);
  return forbidden_page(
      page_head("Warning: " + site.host) +
      "<main class=\"warning\"><h1>Warning: this server could not be verified</h1>\n<p>The "
      "security gateway of this network stopped your connection to <strong>" +
      host + "</strong>. Someone may be impersonating the site to read what you send.</p>\n" +
      reason_section(site) + certificate_section(site.certificate) +
      "<h2>What you can do</h2><ul><li>Close this page (recommended).</li><li>Continue only if "
      "you know why the certificate is wrong. Continuing lets this device reach <strong>" +
      host + "</strong> with exactly this certificate for " + duration_words(exception_ttl) +
      ".</li></ul>\n<form method=\"get\" action=\"" + std::string(kContinuePath) +
      "\"><input type=\"hidden\" name=\"token\" value=\"" + html_escape(continue_token) +
      "\"><button type=\"submit\">Continue to " + host + " (unsafe)</button></form>\n" +
      requested(site, request_path) + "</main></body></html>\n");
}

PageResponse render_continue_refused_page(const UntrustedSite& site, std::string_view why) {
  const std::string host = html_escape(site.host);
  return forbidden_page(page_head("Warning: " + site.host) +
                        "<main class=\"warning\"><h1>This continue link is not valid</h1>\n<p>"
                        "The link to continue to <strong>" +
                        host + "</strong> was refused: " + html_escape(why) +
                        ".</p>\n<p><a href=\"/\">Open https://" + host +
                        "/ again</a> to see the warning and decide again.</p>\n" +
                        reason_section(site) + "</main></body></html>\n");
}

PageResponse continue_redirect(std::string_view original_path) {
  PageResponse response;
  response.status = 303;
  response.headers = page_security_headers("text/plain; charset=utf-8");
  response.headers.emplace_back(
      "location", plain_absolute_path(original_path) ? std::string(original_path) : "/");
  response.body = "See Other\n";
  return response;
}

}  // namespace tlsgate::pages
