// Revocation via CRLs (DESIGN.md §5, SECURITY-BATTERY case 12); stapled OCSP
// is checked during the handshake (stapled_ocsp.h).
//
// After an upstream handshake whose chain verified, the terminator calls
// check() with the verified chain. Each certificate but the trust anchor is
// looked up in the CRL named by its CRL distribution points (http:// only),
// fetched by the checker's own threads (HTTP/1.0, bounded times and size),
// signature-checked against the certificate's issuer and cached until its
// nextUpdate (at most max_cache_age, at most max_cached_crls CRLs). A
// certificate without CRL distribution points has nothing to check.
//
// check() never blocks on the network: it answers good / revoked / unknown
// from the cache, or `pending` and later calls `on_done` from a fetcher
// thread (the terminator wraps it with ConnectionWaker::post). `unknown`
// (CRL unreachable, unusable) is for the caller to judge: revocation =
// "soft_fail" logs and proceeds, "hard_fail" treats it as the failure class
// revocation_unknown.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "validation/upstream_verifier.h"

namespace tlsgate::tls {

enum class RevocationStatus { good, revoked, unknown, pending };
std::string_view to_string(RevocationStatus s);

struct RevocationResult {
  RevocationStatus status = RevocationStatus::good;
  int depth = 0;       // chain depth of the certificate the status is about
  std::string detail;  // for revoked / unknown: which certificate, which CRL, why

  // revoked → class `revoked` (X509_V_ERR_CERT_REVOKED); unknown → class
  // `revocation_unknown` (X509_V_ERR_UNABLE_TO_GET_CRL); nullopt otherwise.
  std::optional<VerifyFailure> failure() const;
};

class RevocationChecker {
 public:
  struct Options {
    std::chrono::milliseconds connect_timeout{3000};
    std::chrono::milliseconds read_timeout{5000};  // whole response
    size_t max_crl_bytes = 8u << 20;
    size_t max_cached_crls = 64;
    std::chrono::seconds max_cache_age{std::chrono::hours(24)};  // even when nextUpdate is later
    // A failed fetch or an unusable CRL is not retried before this, so an
    // unreachable CRL server costs one timeout, not one per connection.
    std::chrono::seconds retry_after_failure{60};
    size_t max_pending_checks = 1024;  // beyond: `unknown` at once
    unsigned fetch_threads = 2;
    bool allow_loopback = false;  // CRL servers on 127.0.0.1 (tests only)
  };
  using Callback = std::function<void(RevocationResult)>;

  explicit RevocationChecker(Options options);
  // Stops the fetcher threads (waits for fetches in progress, bounded by the
  // timeouts); pending checks are dropped without a callback.
  ~RevocationChecker();
  RevocationChecker(const RevocationChecker&) = delete;
  RevocationChecker& operator=(const RevocationChecker&) = delete;

  // `verified_chain`: leaf first, trust anchor last (SSL_get0_verified_chain
  // after a handshake that verified without tolerated defects: never call
  // it for an unverified chain, whose CRL URLs an attacker chose). The
  // certificates are up-referenced; the caller's stack may go away. Returns
  // good / revoked / unknown, or pending: then `on_done` is called once, from
  // a fetcher thread, with good / revoked / unknown. Thread-safe.
  RevocationResult check(const STACK_OF(X509) * verified_chain, Callback on_done);

  struct Stats {
    uint64_t fetches = 0;
    uint64_t fetch_failures = 0;
    uint64_t cached_crls = 0;
  };
  Stats stats() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tlsgate::tls
