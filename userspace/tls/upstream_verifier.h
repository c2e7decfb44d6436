// Validation of the real server (DESIGN.md §5) and its error classes.
// The X509_STORE is built once from the trust store; each upstream SSL gets
// the expected host name and a slot where the verify callback records the
// first failure, so the terminator can report the class after the handshake.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tls/openssl_handles.h"

namespace tlsgate::tls {

enum class CertErrorClass {
  expired,
  not_yet_valid,
  hostname_mismatch,
  self_signed,
  untrusted_root,
  incomplete_chain,
  invalid_signature,
  not_a_ca,
  bad_usage,
  revoked,
  weak_key,
  weak_signature,
  bad_protocol,
  no_certificate,
  other,
};
std::string_view to_string(CertErrorClass c);
// Maps an X509_V_ERR_* code to its class.
CertErrorClass classify_x509_error(int x509_verify_error);

struct VerifyFailure {
  CertErrorClass error_class = CertErrorClass::other;
  int x509_error = 0;   // X509_V_ERR_*, 0 for protocol failures
  int depth = 0;        // chain depth of the failing certificate
  std::string detail;   // human readable
};

// Facts about the upstream certificate, for events and forging.
struct PeerCertSummary {
  std::string subject;               // RFC 2253
  std::string issuer;
  std::string fingerprint_sha256;    // hex, lower case
  std::vector<std::string> chain;    // subjects as presented, leaf first
};

class UpstreamVerifier {
 public:
  // `trust_store`: PEM bundle; empty path: the system default store.
  // Throws std::runtime_error when the bundle cannot be read or is empty.
  explicit UpstreamVerifier(const std::filesystem::path& trust_store);

  // The client context for upstream connections: TLS 1.2–1.3, ECDHE + AEAD
  // only, no compression/renegotiation, security level 2, SSL_VERIFY_PEER with
  // the recording callback, trust = this store only.
  SslCtxPtr make_upstream_ctx() const;

  // Per connection: sets SNI (when `host_is_sni`) and the expected host name
  // for the X509 hostname check (no CN fallback, no partial wildcards); `host`
  // may be an IP literal when the flow had no SNI. The verify callback writes
  // the first failure into `*failure_sink`, which the caller owns and keeps
  // alive as long as the SSL (the terminator keeps it in its Connection).
  static void prepare(SSL* ssl, std::string_view host, bool host_is_sni,
                      std::optional<VerifyFailure>* failure_sink);

  static PeerCertSummary summarize_peer(const SSL* ssl);

 private:
  X509StorePtr store_;
};

}  // namespace tlsgate::tls
