// The block and warning pages served when an upstream fails validation
// (DESIGN.md §5): they name the host and the reason in words, show the
// server certificate's subject, issuer and SHA-256 fingerprint, and say what
// the user can do. Every echoed value is HTML-escaped. Both answer 403: the
// requested resource is not served (scripts and crawlers see a failure, not
// content); the warning page carries the "continue" form.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "pages/page_response.h"
#include "validation/upstream_verifier.h"

namespace tlsgate::pages {

// The continue action: GET <kContinuePath>?token=<token> on the same origin
// (a form, so `form-action 'self'` allows it; no script is needed).
inline constexpr std::string_view kContinuePath = "/.well-known/tlsgate/continue";

struct UntrustedSite {
  std::string host;  // the SNI, or the server's address when the client sent none
  tls::CertErrorClass error_class = tls::CertErrorClass::other;
  std::string detail;                // tls::VerifyFailure::detail
  tls::PeerCertSummary certificate;  // empty fields when the server sent none
};

// The class in words, for people ("The server's certificate has expired.").
std::string_view describe(tls::CertErrorClass error_class);

PageResponse render_block_page(const UntrustedSite& site, std::string_view request_path);

// `continue_token`: from ExceptionToken::issue for this client, host,
// certificate and `request_path`; `exception_ttl`: how long continuing lets
// the client through (said on the page).
PageResponse render_warning_page(const UntrustedSite& site, std::string_view request_path,
                                 std::string_view continue_token,
                                 std::chrono::milliseconds exception_ttl);

// A continue link that did not verify; `why` in words.
PageResponse render_continue_refused_page(const UntrustedSite& site, std::string_view why);

// 303 to `original_path` on the same origin, after a continue was granted.
// A path that is not a plain absolute path ("//other.example", control
// bytes) redirects to "/": never an open redirect.
PageResponse continue_redirect(std::string_view original_path);

}  // namespace tlsgate::pages
