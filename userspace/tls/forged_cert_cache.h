// Sharded LRU of forged leaves keyed by (CA signer id, upstream leaf SHA-256):
// the upstream leaf determines names and validity, so a key never maps to a
// leaf with other names, and a new CA never serves an old CA's leaf.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "tls/leaf_forger.h"

namespace tlsgate::tls {

class ForgedCertCache {
 public:
  // Holds at most `capacity` leaves (split evenly over min(shards, capacity)
  // shards, so a little less when it does not divide). capacity, shards >= 1.
  explicit ForgedCertCache(size_t capacity = 4096, size_t shards = 16);
  ~ForgedCertCache();
  ForgedCertCache(const ForgedCertCache&) = delete;
  ForgedCertCache& operator=(const ForgedCertCache&) = delete;

  // Returns the cached leaf or forges (outside the shard lock) and caches it.
  // Thread-safe. Rethrows the forger's exception (nothing is cached then).
  std::shared_ptr<const ForgedCert> get_or_forge(const LeafForger& forger, X509* upstream_leaf);

  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  size_t size() const;
  size_t capacity() const { return n_shards_ * per_shard_capacity_; }

 private:
  struct Shard;
  std::unique_ptr<Shard[]> shards_;
  size_t n_shards_;
  size_t per_shard_capacity_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

}  // namespace tlsgate::tls
