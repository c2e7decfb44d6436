// Connection, the upstream validation part (DESIGN.md §5): the handshake
// with the real server under the browser-grade verifier, revocation, and what
// the `untrusted_server_cert` policy makes of a defect:
//   block, prompt      a page over our own handshake; the upstream gets no
//                      request byte (a continued prompt comes back as allow);
//   untrusted_ca       relay, with a leaf for the requested name signed by a
//                      CA no client trusts, so the client warns natively;
//   allow              relay, with a leaf for the requested name only.
// A clean upstream gets a leaf mirroring its validated names.
#include <openssl/err.h>

#include "capture/keylog_tap.h"
#include "forging/client_facing_context.h"
#include "terminator/ciphertext_bio.h"
#include "terminator/connection.h"
#include "terminator/tls_alert.h"
#include "terminator/tls_session.h"
#include "tls/openssl_text.h"
#include "validation/revocation_checker.h"
#include "validation/upstream_sessions.h"

namespace tlsgate::terminator {

using policy::UntrustedCertAction;

// The name the client asked for, or the address it connected to without SNI.
std::string Connection::requested_host() const {
  return sni_.empty() ? original_dst_.address.to_string() : sni_;
}

const policy::UntrustedCertPolicy& Connection::untrusted_policy() const {
  return rules_->untrusted_policy_for(verdict_);
}

// What policy makes of a defect of this upstream certificate: a user's
// earlier "continue" on this certificate turns prompt into allow.
UntrustedCertAction Connection::decide_untrusted(const tls::VerifyFailure& failure,
                                                 std::string_view leaf_sha256) const {
  auto action = untrusted_policy().decide(tls::to_string(failure.error_class));
  if (action == UntrustedCertAction::prompt && ctx_.exceptions != nullptr && !leaf_sha256.empty() &&
      ctx_.exceptions->allowed(client_.address, requested_host(), leaf_sha256)) {
    return UntrustedCertAction::allow;
  }
  return action;
}

bool Connection::captures_keys() const {
  if (ctx_.capture == nullptr || !rules_ || !verdict_.rule_index) return false;
  return rules_->rules[*verdict_.rule_index].capture == policy::CaptureFormat::keylog;
}

void Connection::begin_upstream_tls() {
  state_ = State::upstream_handshake;
  upstream_ssl_ = new_memory_ssl(ctx_.upstream_ctx.get(), side(Side::upstream).out);
  if (!upstream_ssl_) {
    refuse_with_alert(tls_alert::kInternalError, "upstream_ssl: " + last_openssl_error());
    return;
  }
  if (captures_keys()) capture::capture_keylog(upstream_ssl_.get());
  SSL_set_connect_state(upstream_ssl_.get());
  // Defects that policy relays anyway (allow, untrusted_ca, a continued
  // prompt) let the handshake complete; the strictest one decides later.
  // Every other defect aborts it: the server sees an alert, never a request.
  tolerance_ = [this](const tls::VerifyFailure& failure, std::string_view leaf_sha256) {
    auto action = decide_untrusted(failure, leaf_sha256);
    if (action != UntrustedCertAction::allow && action != UntrustedCertAction::untrusted_ca) {
      return false;
    }
    tolerated_ = tolerated_ ? policy::stricter(*tolerated_, action) : action;
    return true;
  };
  // Same name upstream as the client asked for; without SNI the certificate
  // must be valid for the address itself (never for names it claims).
  bool has_sni = !sni_.empty();
  try {
    tls::UpstreamVerifier::prepare(upstream_ssl_.get(), requested_host(), has_sni, &verify_failure_,
                                   &tolerance_);
    // A session of this upstream that validated cleanly, if one is cached.
    tls::offer_upstream_session(upstream_ssl_.get(), original_dst_.to_string(), requested_host());
  } catch (const std::exception& e) {
    refuse_with_alert(tls_alert::kInternalError, std::string("upstream_prepare: ") + e.what());
    return;
  }
  auto alpn = relayable_alpn(hello_.alpn_offered());
  if (!alpn.empty()) {
    SSL_set_alpn_protos(upstream_ssl_.get(), alpn.data(), static_cast<unsigned>(alpn.size()));
  }
  drive_upstream_handshake();
}

void Connection::drive_upstream_handshake() {
  ERR_clear_error();  // the error queue is per thread, shared by all its connections
  int ret = SSL_do_handshake(upstream_ssl_.get());
  if (ret == 1) {
    flush_tls(Side::upstream);
    upstream_verified();
    return;
  }
  int err = SSL_get_error(upstream_ssl_.get(), ret);
  if (err == SSL_ERROR_WANT_READ) {
    flush_tls(Side::upstream);
    arm_recv(Side::upstream);
    return;
  }
  fail_upstream_tls(ret);
}

// The handshake was aborted: a refused certificate defect or a protocol failure.
void Connection::fail_upstream_tls(int ssl_ret) {
  // Classify first: it reads (and drains) this thread's OpenSSL error queue.
  tls::VerifyFailure failure = tls::classify_handshake_error(upstream_ssl_.get(), ssl_ret);
  flush_tls(Side::upstream);  // our alert to the server, if OpenSSL wrote one
  apply_untrusted_policy(failure, /*session_usable=*/false);
}

void Connection::upstream_verified() {
  SSL* up = upstream_ssl_.get();
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(up, &alpn, &alpn_len);
  upstream_alpn_.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  tls_version_ = SSL_get_version(up);
  // Only the fingerprint: the subject, issuer and chain texts are for failures.
  if (const X509* leaf = SSL_get0_peer_certificate(up)) {
    upstream_cert_sha256_ = tls::sha256_fingerprint(leaf);
  }
  if (verify_failure_) {  // completed despite a defect policy tolerates
    apply_untrusted_policy(*verify_failure_, /*session_usable=*/true);
    return;
  }
  // A resumed session was validated, revocation included, by the handshake
  // that made it (tls/upstream_sessions.h): no chain to check again.
  if (ctx_.revocation == nullptr || SSL_session_reused(up) == 1) {
    tls::upstream_session_validated(up);
    relay_with_identity(forge_mirroring_upstream());
    return;
  }
  // Only a chain that verified cleanly is checked: an unverified chain's CRL
  // URLs are the server's choice.
  state_ = State::checking_revocation;
  ConnectionWaker waker = io_.waker(*this);
  auto now = ctx_.revocation->check(SSL_get0_verified_chain(up), [waker](tls::RevocationResult r) {
    waker.post([r = std::move(r)](Connection& c) { c.on_revocation_result(r); });
  });
  if (now.status != tls::RevocationStatus::pending) on_revocation_result(now);
}

void Connection::on_revocation_result(const tls::RevocationResult& result) {
  if (state_ != State::checking_revocation) return;  // ended meanwhile
  switch (result.status) {
    case tls::RevocationStatus::good:
      tls::upstream_session_validated(upstream_ssl_.get());
      relay_with_identity(forge_mirroring_upstream());
      return;
    case tls::RevocationStatus::pending:
      relay_with_identity(forge_mirroring_upstream());
      return;
    case tls::RevocationStatus::unknown:
      if (ctx_.settings.revocation == config::RevocationMode::soft_fail) {
        // Soft fail proceeds, but the administrator learns about it.
        if (auto failure = result.failure()) {
          emit_tls_event(*failure, tls::UpstreamVerifier::summarize_peer(upstream_ssl_.get()),
                         "allow");
        }
        relay_with_identity(forge_mirroring_upstream());
        return;
      }
      [[fallthrough]];
    case tls::RevocationStatus::revoked:
      if (auto failure = result.failure()) {
        apply_untrusted_policy(*failure, /*session_usable=*/true);
      } else {
        relay_with_identity(forge_mirroring_upstream());
      }
      return;
  }
}

void Connection::apply_untrusted_policy(const tls::VerifyFailure& failure, bool session_usable) {
  TerminatorCounters::add(counters_.upstream_cert_failures);
  tls::PeerCertSummary peer = tls::UpstreamVerifier::summarize_peer(upstream_ssl_.get());
  upstream_cert_sha256_ = peer.fingerprint_sha256;
  UntrustedCertAction action =
      tolerated_ && session_usable
          ? policy::stricter(*tolerated_, decide_untrusted(failure, peer.fingerprint_sha256))
          : decide_untrusted(failure, peer.fingerprint_sha256);
  // Without a completed upstream session there is nothing to relay.
  if (!session_usable &&
      (action == UntrustedCertAction::allow || action == UntrustedCertAction::untrusted_ca)) {
    action = UntrustedCertAction::block;
  }
  emit_tls_event(failure, peer, policy::to_string(action));
  std::string cls(tls::to_string(failure.error_class));
  try {
    switch (action) {
      case UntrustedCertAction::allow:
        validation_note_ = "upstream_cert_allowed:" + cls;
        relay_with_identity(
            ctx_.forged_cache->get_or_forge_name(trusted_forger(), requested_host()));
        return;
      case UntrustedCertAction::untrusted_ca:
        validation_note_ = "upstream_cert_untrusted_ca:" + cls;
        relay_with_identity(
            ctx_.forged_cache->get_or_forge_name(*ctx_.untrusted_forger, requested_host()));
        return;
      case UntrustedCertAction::block:
      case UntrustedCertAction::prompt:
        flow_action_ = "block";
        show_untrusted_page(action == UntrustedCertAction::prompt, failure, std::move(peer));
        return;
    }
  } catch (const std::exception& e) {
    refuse_with_alert(tls_alert::kHandshakeFailure, std::string("forge_failed: ") + e.what());
  }
}

// A leaf with the validated upstream's names; without SNI only the address
// it was validated for (SECURITY-BATTERY case 34).
std::shared_ptr<const tls::ForgedCert> Connection::forge_mirroring_upstream() {
  X509* leaf = SSL_get0_peer_certificate(upstream_ssl_.get());
  std::optional<IpAddress> only_ip;
  if (sni_.empty()) only_ip = original_dst_.address;
  try {
    return ctx_.forged_cache->get_or_forge(trusted_forger(), leaf, only_ip);
  } catch (const std::exception& e) {
    refuse_with_alert(tls_alert::kHandshakeFailure, std::string("forge_failed: ") + e.what());
    return nullptr;
  }
}

void Connection::relay_with_identity(std::shared_ptr<const tls::ForgedCert> identity) {
  if (!identity) return;  // refused already
  start_client_handshake(*identity, &upstream_alpn_, /*resumable=*/true);
}

void Connection::emit_tls_event(const tls::VerifyFailure& failure, const tls::PeerCertSummary& peer,
                                std::string_view action) {
  events::TlsEvent ev;
  ev.client = client_.to_string();
  ev.server = original_dst_.to_string();
  if (!sni_.empty()) ev.sni = sni_;
  ev.error_class = std::string(tls::to_string(failure.error_class));
  ev.detail = failure.detail;
  ev.subject = peer.subject;
  ev.issuer = peer.issuer;
  ev.fingerprint_sha256 = peer.fingerprint_sha256;
  ev.chain = peer.chain;
  ev.action = std::string(action);
  ctx_.events->emit(ev);
  // A failure the client was not let through counts toward a bypass suggestion.
  if (ctx_.advisor != nullptr && action != "allow") {
    ctx_.advisor->validation_failed(requested_host(), original_dst_, ev.error_class,
                                    suggest::Clock::now());
  }
}

// Answers the client with `identity`, replaying its ClientHello into our
// TLS server; `alpn` is what to select from the client's offer.
void Connection::start_client_handshake(const tls::ForgedCert& identity, const std::string* alpn,
                                        bool resumable) {
  state_ = State::client_handshake;
  client_ssl_ = new_memory_ssl(ctx_.client_facing_ctx.get(), side(Side::client).out);
  if (!client_ssl_) {
    refuse_with_alert(tls_alert::kInternalError, "client_ssl: " + last_openssl_error());
    return;
  }
  if (captures_keys()) capture::capture_keylog(client_ssl_.get());
  SSL_set_accept_state(client_ssl_.get());
  tls::set_forged_identity(client_ssl_.get(), identity);
  tls::set_alpn_choice(client_ssl_.get(), alpn);
  if (resumable) offer_resumption(identity);  // connection_resumption.cc
  const auto& flight = hello_.raw();
  give_ciphertext(client_ssl_.get(), flight);
  hello_.clear();
  drive_client_handshake();
}

}  // namespace tlsgate::terminator
