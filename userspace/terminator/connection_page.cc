// Connection, the page part: when policy blocks or prompts for an invalid
// upstream, or a rule blocks the site and [policy] block_response = "page",
// the client's handshake completes with a leaf for the name it asked for and
// it is served the block or warning page (pages/), decrypted and answered
// here: no request byte goes anywhere (SECURITY-BATTERY 28).
// Clients that speak no HTTP get a TLS alert instead.
#include <openssl/err.h>

#include <algorithm>

#include "pages/rule_block_page.h"
#include "pages/untrusted_site_handler.h"
#include "terminator/connection.h"
#include "terminator/tls_alert.h"
#include "terminator/tls_session.h"

namespace tlsgate::terminator {

namespace {

// What we answer the page in: h2 when offered, HTTP/1.1 when offered or when
// the client offered no ALPN at all; nullopt when it offered only other protocols.
std::optional<std::string> page_protocol(const std::vector<std::string>& offered) {
  if (offered.empty()) return std::string();
  if (std::find(offered.begin(), offered.end(), "h2") != offered.end()) return "h2";
  if (std::find(offered.begin(), offered.end(), "http/1.1") != offered.end()) return "http/1.1";
  return std::nullopt;
}

}  // namespace

void Connection::show_untrusted_page(bool prompt, const tls::VerifyFailure& failure,
                                     tls::PeerCertSummary peer) {
  std::string cls(tls::to_string(failure.error_class));
  if (end_reason_.empty())
    end_reason_ = (prompt ? "upstream_cert_prompt:" : "upstream_cert_invalid:") + cls;
  auto protocol = page_protocol(hello_.alpn_offered());
  if (!protocol) {
    refuse_with_alert(tls_alert::kHandshakeFailure, end_reason_);
    return;
  }
  page_alpn_ = *protocol;
  pages::UntrustedSite site{requested_host(), failure.error_class, failure.detail, std::move(peer)};
  pages::PageHandler handler;
  if (prompt && ctx_.exception_tokens != nullptr && ctx_.exceptions != nullptr) {
    pages::PromptSettings settings;
    settings.client = client_.address;
    settings.tokens = ctx_.exception_tokens;
    settings.exceptions = ctx_.exceptions;
    settings.exception_ttl = ctx_.settings.prompt_exception_ttl;
    handler = pages::make_warning_handler(std::move(site), std::move(settings));
  } else {
    handler = pages::make_block_handler(std::move(site));
  }
  page_ = std::make_unique<pages::PageResponder>(page_alpn_, std::move(handler));
  // Our own CA vouches for the name only to show this page: the upstream's
  // content never follows over this session.
  auto identity = ctx_.forged_cache->get_or_forge_name(trusted_forger(), requested_host());
  start_client_handshake(*identity, &page_alpn_, /*resumable=*/false);
}

void Connection::show_rule_block_page() {
  show_block_page(pages::make_rule_block_handler(requested_host(), verdict_.rule_name), "rule");
}

void Connection::show_block_page(pages::PageHandler handler, const std::string& reason) {
  auto protocol = page_protocol(hello_.alpn_offered());
  if (!protocol) {
    refuse_with_alert(tls_alert::kAccessDenied, reason);
    return;
  }
  if (end_reason_.empty()) end_reason_ = reason;
  page_alpn_ = *protocol;
  page_ = std::make_unique<pages::PageResponder>(page_alpn_, std::move(handler));
  // No upstream is contacted: the gateway CA vouches for the name only to say "blocked".
  auto identity = ctx_.forged_cache->get_or_forge_name(trusted_forger(), requested_host());
  start_client_handshake(*identity, &page_alpn_, /*resumable=*/false);
}

// serving_page: decrypt what the client sent, let the responder answer.
void Connection::serve_page() {
  SSL* tls = client_ssl_.get();
  std::vector<uint8_t> plaintext;
  uint8_t buf[16384];
  bool ended = side(Side::client).eof;
  ERR_clear_error();
  while (true) {
    int n = SSL_read(tls, buf, sizeof buf);
    if (n > 0) {
      plaintext.insert(plaintext.end(), buf, buf + n);
      continue;
    }
    int err = SSL_get_error(tls, n);
    if (err != SSL_ERROR_WANT_READ) ended = true;
    break;
  }
  // Called once right after the handshake with nothing read: h2 sends its SETTINGS.
  auto answer = page_->feed(plaintext);
  if (!answer.empty()) SSL_write(tls, answer.data(), static_cast<int>(answer.size()));
  if (page_->finished() || ended) {
    SSL_shutdown(tls);
    flush_tls(Side::client);
    close_when_flushed(end_reason_);
    return;
  }
  flush_tls(Side::client);
  arm_recv(Side::client);
}

}  // namespace tlsgate::terminator
