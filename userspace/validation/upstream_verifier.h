// Validation of the real server (DESIGN.md §5) and its error classes.
// The X509_STORE is built once from the trust store; each upstream SSL gets
// the expected host name and a slot where the verify callback records the
// first failure, so the terminator can report the class after the handshake.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tls/openssl_handles.h"
#include "validation/gateway_ca_exclusion.h"
#include "validation/verified_chain_cache.h"

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
  revocation_unknown,  // CRL unreachable or unusable under revocation = "hard_fail", or a
                       // must-staple leaf without a stapled OCSP response
  weak_key,
  weak_signature,
  bad_protocol,
  no_certificate,
  client_cert_required,  // the server asked for a client certificate (never sent)
  other,
};
std::string_view to_string(CertErrorClass c);
// Every class, in declaration order.
std::span<const CertErrorClass> all_cert_error_classes();

// Maps an X509_V_ERR_* code, reported for the certificate at chain `depth`
// (0 = leaf), to its class. The depth separates "the server sent its leaf
// without the intermediate" (issuer unknown at depth 0: incomplete_chain)
// from "the chain ends at a CA we do not trust" (depth >= 1: untrusted_root).
CertErrorClass classify_x509_error(int x509_verify_error, int depth);

struct VerifyFailure {
  CertErrorClass error_class = CertErrorClass::other;
  int x509_error = 0;  // X509_V_ERR_*, 0 for protocol failures
  int depth = 0;       // chain depth of the failing certificate
  std::string detail;  // human readable
};

// Facts about the upstream certificate, for events and forging.
struct PeerCertSummary {
  std::string subject;  // RFC 2253
  std::string issuer;
  std::string fingerprint_sha256;  // hex, lower case
  std::vector<std::string> chain;  // subjects as presented, leaf first
};

// Asked for every certificate defect found during an upstream handshake, with
// the SHA-256 fingerprint (hex, lower case) of the leaf the server presented:
// true lets the handshake go on despite it (the policy allows the defect, or
// the client holds an exception for this certificate); false aborts the
// handshake as without a tolerance. Runs inside OpenSSL: must not block.
using FailureTolerance =
    std::function<bool(const VerifyFailure& failure, std::string_view leaf_sha256)>;

class UpstreamVerifier {
 public:
  // `trust_store`: PEM bundle; empty path: the system default store.
  // Throws std::runtime_error naming the path when the bundle cannot be read
  // or holds no certificate. The gateway's own CAs are never added here.
  explicit UpstreamVerifier(const std::filesystem::path& trust_store);
  UpstreamVerifier(const UpstreamVerifier&) = delete;
  UpstreamVerifier& operator=(const UpstreamVerifier&) = delete;

  // The gateway's own CAs (every state, the untrusted one, cross-certificates):
  // a chain that contains one of them, by certificate or by public key, fails
  // as `untrusted_root` (X509_V_ERR_CERT_REJECTED) whatever the trust store
  // holds, and no tolerance can let it through. Replaces the previous set;
  // any thread, applies from the next verification of every context this
  // verifier made.
  void exclude_gateway_cas(std::shared_ptr<const GatewayCaExclusion> cas);
  std::shared_ptr<const GatewayCaExclusion> gateway_cas() const { return gateway_cas_.load(); }

  // Chains that verified cleanly, reused by every context this verifier made
  // (verified_chain_cache.h). Its generation changes with every
  // exclude_gateway_cas; the trust store is fixed for the verifier's life (a
  // new store is a new verifier, with a cache of its own).
  VerifiedChainCache& verified_chains() const { return *verified_chains_; }
  uint64_t generation() const { return generation_.load(); }

  // The client context for upstream connections: TLS 1.2–1.3, ECDHE + AEAD
  // only, groups X25519/P-256/P-384, no compression/renegotiation, sessions
  // resumed only as upstream_sessions.h allows, security level 2 (RSA >= 2048, no SHA-1
  // signatures), SSL_VERIFY_PEER with the recording callback, trust = this store only. Requests a
  // stapled OCSP response: a valid "revoked" staple fails as `revoked`; a staple that does not
  // verify, is outdated or covers another certificate fails as `other`
  // (X509_V_ERR_OCSP_VERIFY_FAILED); no staple passes (no fetching) unless the leaf requires one
  // (TLS Feature status_request, "must-staple"): then `revocation_unknown`
  // (X509_V_ERR_OCSP_VERIFY_NEEDED), which a tolerance may allow. Never presents a client
  // certificate: a server that asks for one fails the handshake as `client_cert_required`
  // (SECURITY-BATTERY case 30), before any application byte is sent. Build once, share across
  // connections and threads. The verifier must outlive the context (it holds the gateway CAs).
  SslCtxPtr make_upstream_ctx() const;

  // Per connection, before the handshake: sets SNI (when `host_is_sni` and
  // `host` is a name: RFC 6066 forbids IP literals in SNI) and the expected
  // host for the X509 check (SAN only, no CN fallback, no partial wildcards);
  // `host` may be an IP literal when the flow had no SNI, then it must be an
  // IP SAN. The verify callback writes the first failure into
  // `*failure_sink` and aborts the handshake (no request byte reaches a bad
  // server); the caller owns the sink and keeps it alive as long as the SSL.
  // An SSL that was never prepared fails every verification.
  // With a `tolerance` (caller-owned, alive as long as the SSL), a defect it
  // tolerates does not abort: the first tolerated defect is left in the sink
  // and the handshake goes on, so after a *completed* handshake a set sink
  // means "completed despite this defect". A defect it refuses overwrites the
  // sink and aborts, as without a tolerance.
  // Throws std::invalid_argument for an empty host, a host with a NUL, or a
  // null sink.
  static void prepare(SSL* ssl, std::string_view host, bool host_is_sni,
                      std::optional<VerifyFailure>* failure_sink,
                      const FailureTolerance* tolerance = nullptr);

  // True once the server asked for a client certificate (the handshake then
  // fails as client_cert_required).
  static bool client_certificate_requested(const SSL* ssl);

  // Works after a failed handshake too (the chain the server presented).
  static PeerCertSummary summarize_peer(const SSL* ssl);

 private:
  X509StorePtr store_;
  std::atomic<std::shared_ptr<const GatewayCaExclusion>> gateway_cas_;
  std::atomic<uint64_t> generation_{0};
  std::unique_ptr<VerifiedChainCache> verified_chains_ = std::make_unique<VerifiedChainCache>();
};

// Call after SSL_do_handshake/SSL_connect returned `ret` <= 0 with an error
// that is not SSL_ERROR_WANT_*: the certificate failure the verify callback
// recorded when there is one; otherwise the TLS failure (version or cipher
// mismatch, server alert, bad handshake signature ...) as bad_protocol
// (invalid_signature for a bad CertificateVerify), or `other` for a transport
// close or an internal error; `detail` carries OpenSSL's reasons. A server
// that asked for a client certificate gives client_cert_required. Drains
// this thread's OpenSSL error queue.
VerifyFailure classify_handshake_error(const SSL* ssl, int ret);

}  // namespace tlsgate::tls
