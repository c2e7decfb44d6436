#include "validation/upstream_verifier.h"

#include <openssl/err.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "common/ip_address.h"
#include "tls/openssl_text.h"
#include "tls/tls_parameters.h"
#include "validation/stapled_ocsp.h"
#include "validation/upstream_sessions.h"

namespace tlsgate::tls {
namespace {

using FailureSink = std::optional<VerifyFailure>;

int failure_sink_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

FailureSink* failure_sink_of(const SSL* ssl) {
  return static_cast<FailureSink*>(SSL_get_ex_data(ssl, failure_sink_index()));
}

int tolerance_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int client_cert_requested_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// SSL_CTX slot: the UpstreamVerifier that made the context.
int verifier_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// A gateway CA in the chain built so far, described; nullopt when none. Never
// tolerated: the gateway must not trust itself, whatever the store holds.
std::optional<VerifyFailure> gateway_ca_in_chain(SSL* ssl, X509_STORE_CTX* store_ctx) {
  const auto* verifier = static_cast<const UpstreamVerifier*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), verifier_index()));
  if (verifier == nullptr) return std::nullopt;
  const std::shared_ptr<const GatewayCaExclusion> cas = verifier->gateway_cas();
  if (!cas || cas->empty()) return std::nullopt;
  std::optional<GatewayCaExclusion::Found> found;
  try {
    found = cas->find_in(X509_STORE_CTX_get0_chain(store_ctx));
  } catch (...) {
    // A certificate whose key cannot be encoded: fail closed.
    found = GatewayCaExclusion::Found{X509_STORE_CTX_get_error_depth(store_ctx),
                                      "a certificate that cannot be compared"};
  }
  if (!found) return std::nullopt;
  return VerifyFailure{CertErrorClass::untrusted_root, X509_V_ERR_CERT_REJECTED, found->depth,
                       "the chain contains the gateway's own CA at depth " +
                           std::to_string(found->depth) + " (" + found->why +
                           "); the gateway never accepts itself as an upstream's issuer"};
}

// Records `failure` and says whether the handshake may go on.
bool tolerate_or_record(SSL* ssl, FailureSink& sink, VerifyFailure failure, X509* leaf) {
  const auto* tolerance =
      static_cast<const FailureTolerance*>(SSL_get_ex_data(ssl, tolerance_index()));
  bool tolerated = false;
  try {
    tolerated = tolerance != nullptr && *tolerance && leaf != nullptr &&
                (*tolerance)(failure, sha256_fingerprint(leaf));
  } catch (...) {
    // Never unwind through OpenSSL; a failing decision refuses.
  }
  if (tolerated) {
    if (!sink.has_value()) sink = std::move(failure);
    return true;
  }
  // Refused: this defect is the reason, even after a tolerated one.
  sink = std::move(failure);
  return false;
}

std::string describe(int error, int depth, X509* cert) {
  std::string detail = X509_verify_cert_error_string(error);
  detail += " at depth " + std::to_string(depth);
  if (cert != nullptr) detail += " (" + rfc2253(X509_get_subject_name(cert)) + ")";
  return detail;
}

// Called for every certificate with OpenSSL's verdict; the first failure is
// recorded and ends the handshake (returning 0), so no later error can hide
// the first one and no application byte is sent to a server that failed.
int record_first_failure(int preverify_ok, X509_STORE_CTX* store_ctx) {
  auto* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  FailureSink* sink = ssl ? failure_sink_of(ssl) : nullptr;
  if (sink == nullptr) return 0;  // never prepared: no host to check, fail closed
  // The whole chain is known at the leaf's (last) call and at any failure;
  // checking there, not at every depth, keeps the cost to one pass.
  if (preverify_ok != 1 || X509_STORE_CTX_get_error_depth(store_ctx) == 0) {
    if (std::optional<VerifyFailure> own = gateway_ca_in_chain(ssl, store_ctx)) {
      *sink = std::move(*own);  // refused whatever a tolerance would say
      return 0;
    }
  }
  if (preverify_ok == 1) return 1;
  // Without a tolerance the first failure already ended the handshake.
  if (sink->has_value() && SSL_get_ex_data(ssl, tolerance_index()) == nullptr) return 0;
  int error = X509_STORE_CTX_get_error(store_ctx);
  int depth = X509_STORE_CTX_get_error_depth(store_ctx);
  VerifyFailure failure{classify_x509_error(error, depth), error, depth,
                        describe(error, depth, X509_STORE_CTX_get_current_cert(store_ctx))};
  return tolerate_or_record(ssl, *sink, std::move(failure), X509_STORE_CTX_get0_cert(store_ctx))
             ? 1
             : 0;
}

void free_openssl_string(char* s) {
  OPENSSL_free(s);
}

// The name or address the chain is verified for ("" when neither is set).
std::string expected_host(X509_VERIFY_PARAM* param) {
  if (const char* host = X509_VERIFY_PARAM_get0_host(param, 0)) return host;
  std::unique_ptr<char, OpenSslDeleter<free_openssl_string>> ip(
      X509_VERIFY_PARAM_get1_ip_asc(param));
  return ip ? std::string("ip:") + ip.get() : std::string();
}

// SSL_CTX_set_cert_verify_callback: X509_verify_cert (which calls
// record_first_failure), or the result of a clean verification of the same
// chain for the same host in this generation (verified_chain_cache.h).
int verify_chain(X509_STORE_CTX* store_ctx, void* arg) {
  const auto* verifier = static_cast<const UpstreamVerifier*>(arg);
  auto* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const FailureSink* sink = ssl ? failure_sink_of(ssl) : nullptr;
  const STACK_OF(X509)* presented = X509_STORE_CTX_get0_untrusted(store_ctx);
  std::optional<VerifiedChainCache::Key> key;
  if (sink != nullptr && !sink->has_value() && presented != nullptr && sk_X509_num(presented) > 0 &&
      sk_X509_value(presented, 0) == X509_STORE_CTX_get0_cert(store_ctx)) {
    // The generation is read before verifying: a change meanwhile keeps the
    // result out of the new generation.
    const std::string host = expected_host(X509_STORE_CTX_get0_param(store_ctx));
    if (!host.empty()) key = VerifiedChainCache::key_of(presented, host, verifier->generation());
  }
  if (key) {
    if (X509StackPtr chain = verifier->verified_chains().find(*key)) {
      X509_STORE_CTX_set0_verified_chain(store_ctx, chain.release());
      X509_STORE_CTX_set_error(store_ctx, X509_V_OK);
      return 1;
    }
  }
  const int ok = X509_verify_cert(store_ctx);
  if (ok == 1 && key && !sink->has_value() && X509_STORE_CTX_get_error(store_ctx) == X509_V_OK) {
    verifier->verified_chains().remember(*key, X509_STORE_CTX_get0_chain(store_ctx));
  }
  return ok;
}

// Runs once the chain verified; 0 aborts the handshake.
int check_stapled_status(SSL* ssl, void*) {
  FailureSink* sink = failure_sink_of(ssl);
  if (sink == nullptr) return 0;
  std::optional<VerifyFailure> failure = stapled_ocsp_failure(ssl);
  if (!failure) return 1;
  return tolerate_or_record(ssl, *sink, std::move(*failure), SSL_get0_peer_certificate(ssl)) ? 1
                                                                                             : 0;
}

// Called on the client side only when the server sent a CertificateRequest,
// after its certificate was verified: 0 aborts the handshake (alert
// internal_error) so no gateway-made certificate and no request byte is sent.
int refuse_client_certificate(SSL* ssl, void*) {
  SSL_set_ex_data(ssl, client_cert_requested_index(), ssl);  // any non-null marker
  return 0;
}

}  // namespace

void UpstreamVerifier::exclude_gateway_cas(std::shared_ptr<const GatewayCaExclusion> cas) {
  gateway_cas_.store(std::move(cas));
  generation_.fetch_add(1);  // a chain verified before may hold a newly excluded CA
}

UpstreamVerifier::UpstreamVerifier(const std::filesystem::path& trust_store)
    : store_(X509_STORE_new()) {
  if (!store_) throw_openssl_error("cannot allocate trust store");
  if (trust_store.empty()) {
    if (X509_STORE_set_default_paths(store_.get()) != 1) {
      throw_openssl_error("cannot load the system trust store");
    }
    return;
  }
  if (X509_STORE_load_file(store_.get(), trust_store.c_str()) != 1) {
    throw_openssl_error("cannot load trust store " + trust_store.string());
  }
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store_.get());
  if (sk_X509_OBJECT_num(objects) == 0) {
    throw std::runtime_error("trust store " + trust_store.string() + " holds no certificate");
  }
}

SslCtxPtr UpstreamVerifier::make_upstream_ctx() const {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) throw_openssl_error("cannot create upstream SSL_CTX");
  apply_tls_parameters(ctx.get());
  SSL_CTX_set1_cert_store(ctx.get(), store_.get());  // shared, up-ref'd
  if (SSL_CTX_set_ex_data(ctx.get(), verifier_index(), const_cast<UpstreamVerifier*>(this)) != 1) {
    throw_openssl_error("cannot attach the verifier to the upstream SSL_CTX");
  }
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx.get());
  if (X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER) != 1) {
    throw_openssl_error("cannot set verify purpose");
  }
  X509_VERIFY_PARAM_set_hostflags(
      param, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, record_first_failure);
  SSL_CTX_set_cert_verify_callback(ctx.get(), verify_chain, const_cast<UpstreamVerifier*>(this));
  // Ask for a stapled OCSP response; a revoked status blocks like any defect.
  if (SSL_CTX_set_tlsext_status_type(ctx.get(), TLSEXT_STATUSTYPE_ocsp) != 1 ||
      SSL_CTX_set_tlsext_status_cb(ctx.get(), check_stapled_status) != 1) {
    throw_openssl_error("cannot request OCSP stapling");
  }
  SSL_CTX_set_cert_cb(ctx.get(), refuse_client_certificate, nullptr);
  // Later connections to an upstream that validated cleanly resume its session.
  attach_upstream_session_cache(ctx.get());
  // Allocate the ex_data slots before any worker thread runs.
  failure_sink_index();
  verifier_index();
  tolerance_index();
  client_cert_requested_index();
  return ctx;
}

void UpstreamVerifier::prepare(SSL* ssl, std::string_view host, bool host_is_sni,
                               std::optional<VerifyFailure>* failure_sink,
                               const FailureTolerance* tolerance) {
  if (failure_sink == nullptr) throw std::invalid_argument("prepare: null failure sink");
  if (host.empty()) throw std::invalid_argument("prepare: no host name to verify");
  const std::string name(host);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(
      param, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (std::optional<IpAddress> ip = IpAddress::parse(name)) {
    if (X509_VERIFY_PARAM_set1_ip(param, ip->bytes().data(), ip->size()) != 1) {
      throw_openssl_error("cannot set expected IP " + name);
    }
  } else {
    // set1_host refuses embedded NULs: a name that could check differently
    // from the one the policy saw.
    if (X509_VERIFY_PARAM_set1_host(param, name.data(), name.size()) != 1) {
      drain_openssl_errors();
      throw std::invalid_argument("prepare: invalid host name");
    }
    if (host_is_sni && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
      throw_openssl_error("cannot set SNI " + name);
    }
  }
  failure_sink->reset();
  if (SSL_set_ex_data(ssl, failure_sink_index(), failure_sink) != 1 ||
      SSL_set_ex_data(ssl, tolerance_index(), const_cast<FailureTolerance*>(tolerance)) != 1) {
    throw_openssl_error("cannot attach the failure sink");
  }
}

bool UpstreamVerifier::client_certificate_requested(const SSL* ssl) {
  return SSL_get_ex_data(ssl, client_cert_requested_index()) != nullptr;
}

PeerCertSummary UpstreamVerifier::summarize_peer(const SSL* ssl) {
  PeerCertSummary summary;
  // After a failed verification the session has the presented chain but no
  // peer certificate yet.
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  X509* leaf = SSL_get0_peer_certificate(ssl);
  if (leaf == nullptr && chain != nullptr && sk_X509_num(chain) > 0) leaf = sk_X509_value(chain, 0);
  if (leaf != nullptr) {
    summary.subject = rfc2253(X509_get_subject_name(leaf));
    summary.issuer = rfc2253(X509_get_issuer_name(leaf));
    summary.fingerprint_sha256 = sha256_fingerprint(leaf);
  }
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    summary.chain.push_back(rfc2253(X509_get_subject_name(sk_X509_value(chain, i))));
  }
  return summary;
}

VerifyFailure classify_handshake_error(const SSL* ssl, int ret) {
  const int ssl_error = SSL_get_error(ssl, ret);  // reads the queue: before draining it
  const unsigned long first = ERR_peek_error();
  std::string reasons = drain_openssl_errors();
  if (const FailureSink* sink = failure_sink_of(ssl); sink != nullptr && sink->has_value()) {
    return **sink;
  }
  VerifyFailure failure;
  if (UpstreamVerifier::client_certificate_requested(ssl)) {
    failure.error_class = CertErrorClass::client_cert_required;
    failure.detail =
        "the server requires a client certificate; tlsgate never presents one (a bypass rule "
        "lets this client authenticate to the server directly)";
    return failure;
  }
  const bool tls_error = ssl_error == SSL_ERROR_SSL && ERR_GET_LIB(first) == ERR_LIB_SSL;
  const int reason = ERR_GET_REASON(first);
  if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN ||
      (tls_error && reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
    failure.detail = "connection closed during the TLS handshake";
  } else if (tls_error && reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    // Only without a sink (never prepared): the store's own verdict.
    failure.x509_error = static_cast<int>(SSL_get_verify_result(ssl));
    failure.error_class = classify_x509_error(failure.x509_error, 0);
    failure.detail = reasons;
  } else if (tls_error) {
    failure.error_class = reason == SSL_R_BAD_SIGNATURE ? CertErrorClass::invalid_signature
                                                        : CertErrorClass::bad_protocol;
    failure.detail = reasons;
  } else {
    failure.detail = reasons.empty() ? "TLS handshake failed" : reasons;
  }
  return failure;
}

}  // namespace tlsgate::tls
