// Sharded LRU of forged leaves keyed by (CA cache id, upstream leaf SHA-256
// [, the only IP]) or (CA cache id, requested name): the upstream leaf or
// the name determines names and validity, so a key never maps to a leaf with
// other names, and a new CA (or the untrusted CA) never serves another CA's
// leaf: after a rotation no leaf of the old CA is served, and nothing needs
// wiping (LeafSigner::cache_id also covers the served chain). A leaf past its renew_after is forged
// again, so a long-running gateway never serves an expired leaf from the cache.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "forging/leaf_forger.h"

namespace tlsgate::tls {

class ForgedCertCache {
 public:
  using Clock = std::chrono::system_clock;

  // Holds at most `capacity` leaves (split evenly over min(shards, capacity)
  // shards, so a little less when it does not divide). capacity, shards >= 1.
  // `now` is the clock compared with ForgedCert::renew_after.
  explicit ForgedCertCache(size_t capacity = 4096, size_t shards = 16,
                           std::function<Clock::time_point()> now = Clock::now);
  ~ForgedCertCache();
  ForgedCertCache(const ForgedCertCache&) = delete;
  ForgedCertCache& operator=(const ForgedCertCache&) = delete;

  // Returns the cached leaf or forges (outside the shard lock) and caches it.
  // Thread-safe. Rethrows the forger's exception (nothing is cached then).
  // `only_ip`: as LeafForger::forge (flows without SNI, case 34).
  std::shared_ptr<const ForgedCert> get_or_forge(
      const LeafForger& forger, X509* upstream_leaf,
      const std::optional<IpAddress>& only_ip = std::nullopt);
  // LeafForger::forge_for_name, keyed by (cache id, "name:" + name as given).
  std::shared_ptr<const ForgedCert> get_or_forge_name(const LeafForger& forger,
                                                      std::string_view name);

  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  size_t size() const;
  size_t capacity() const { return n_shards_ * per_shard_capacity_; }

 private:
  struct Shard;
  std::shared_ptr<const ForgedCert> get_or_insert(
      std::string key, const std::function<std::shared_ptr<const ForgedCert>()>& forge);

  std::unique_ptr<Shard[]> shards_;
  size_t n_shards_;
  size_t per_shard_capacity_;
  std::function<Clock::time_point()> now_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

}  // namespace tlsgate::tls
