// Upstream chain verification results reused (DESIGN.md §5; issue 17): a
// server presents the same chain to every connection, and building and
// checking it (two or more signatures, name and policy checks) is a large
// part of an upstream handshake. A chain that verified *cleanly* for a host
// (no defect, not even a tolerated one, no gateway CA in it) is remembered,
// keyed by the SHA-256 of the presented certificates' exact DER bytes, the
// expected host (or IP) and the verifier's generation (its trust store and
// the gateway CAs it refuses: a change of either is a new generation), for
// a short TTL and never past the earliest notAfter of the verified chain.
// A hit stands for X509_verify_cert only: the server's handshake signature,
// the stapled OCSP status and the CRL revocation check still run on every
// connection. Any thread.
#pragma once

#include <openssl/x509.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "tls/openssl_handles.h"

namespace tlsgate::tls {

class VerifiedChainCache {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  using Key = std::array<uint8_t, 32>;

  struct Settings {
    size_t capacity = 2048;        // chains remembered; the oldest goes first
    std::chrono::seconds ttl{60};  // from the verification
  };

  VerifiedChainCache();
  explicit VerifiedChainCache(Settings settings, Clock now = nullptr);
  VerifiedChainCache(const VerifiedChainCache&) = delete;
  VerifiedChainCache& operator=(const VerifiedChainCache&) = delete;

  // The key of `presented` (leaf first, as the server sent it) verified for
  // `host` under `generation`; nullopt when a certificate cannot be encoded.
  static std::optional<Key> key_of(const STACK_OF(X509) * presented, std::string_view host,
                                   uint64_t generation);

  // The verified chain (leaf to trust anchor, new references) remembered for
  // `key`, or null when there is none or it is no longer fresh.
  X509StackPtr find(const Key& key);

  // Remembers `verified` (leaf to anchor, as X509_STORE_CTX_get0_chain gives
  // it) for `key`. Call only for a clean verification.
  void remember(const Key& key, const STACK_OF(X509) * verified);

  size_t size() const;
  uint64_t hits() const;

 private:
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Entry {
    X509StackPtr chain;
    std::chrono::system_clock::time_point verified_at;
    std::chrono::system_clock::time_point expires_at;
  };

  Settings settings_;
  Clock now_;
  mutable std::mutex mu_;
  std::unordered_map<Key, Entry, KeyHash> entries_;
  std::deque<Key> order_;  // insertion order, for eviction
  uint64_t hits_ = 0;
};

}  // namespace tlsgate::tls
