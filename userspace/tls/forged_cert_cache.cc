#include "tls/forged_cert_cache.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <list>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

#include "tls/openssl_text.h"

namespace tlsgate::tls {

struct ForgedCertCache::Shard {
  using Entry = std::pair<std::string, std::shared_ptr<const ForgedCert>>;
  std::mutex mutex;
  std::list<Entry> lru;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index;
};

namespace {

// signer id + raw SHA-256 of the upstream leaf DER.
std::string cache_key(const LeafForger& forger, X509* upstream_leaf) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (X509_digest(upstream_leaf, EVP_sha256(), md.data(), &len) != 1) {
    throw_openssl_error("cannot hash upstream certificate");
  }
  std::string key = forger.ca().signer_id();
  key.push_back('/');
  key.append(reinterpret_cast<const char*>(md.data()), len);
  return key;
}

}  // namespace

ForgedCertCache::ForgedCertCache(size_t capacity, size_t shards) {
  if (capacity == 0 || shards == 0) {
    throw std::invalid_argument("forged certificate cache needs capacity and shards >= 1");
  }
  n_shards_ = std::min(shards, capacity);
  per_shard_capacity_ = capacity / n_shards_;
  shards_ = std::make_unique<Shard[]>(n_shards_);
}

ForgedCertCache::~ForgedCertCache() = default;

std::shared_ptr<const ForgedCert> ForgedCertCache::get_or_forge(const LeafForger& forger,
                                                                X509* upstream_leaf) {
  std::string key = cache_key(forger, upstream_leaf);
  Shard& shard = shards_[std::hash<std::string>{}(key) % n_shards_];
  {
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.index.find(key); it != shard.index.end()) {
      shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
      hits_.fetch_add(1, std::memory_order_relaxed);
      return it->second->second;
    }
  }
  // Signing takes ~0.1 ms: other connections on this shard must not wait.
  misses_.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<const ForgedCert> forged = forger.forge(upstream_leaf);

  std::lock_guard lock(shard.mutex);
  if (auto it = shard.index.find(key); it != shard.index.end()) {
    // Another thread forged the same leaf meanwhile: everyone serves one.
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    return it->second->second;
  }
  shard.lru.emplace_front(key, forged);
  shard.index.emplace(std::move(key), shard.lru.begin());
  while (shard.lru.size() > per_shard_capacity_) {
    shard.index.erase(shard.lru.back().first);
    shard.lru.pop_back();
  }
  return forged;
}

size_t ForgedCertCache::size() const {
  size_t total = 0;
  for (size_t i = 0; i < n_shards_; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    total += shards_[i].lru.size();
  }
  return total;
}

}  // namespace tlsgate::tls
