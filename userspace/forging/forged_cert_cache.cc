#include "forging/forged_cert_cache.h"

#include <algorithm>
#include <array>
#include <chrono>
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

// "cert:" + CA cache id + raw SHA-256 of the upstream leaf DER [+ "/ip:" +
// address bytes]; names use "name:", so the two key spaces never meet.
std::string cache_key(const LeafForger& forger, X509* upstream_leaf,
                      const std::optional<IpAddress>& only_ip) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (X509_digest(upstream_leaf, EVP_sha256(), md.data(), &len) != 1) {
    throw_openssl_error("cannot hash upstream certificate");
  }
  std::string key = "cert:" + forger.ca().cache_id();
  key.push_back('/');
  key.append(reinterpret_cast<const char*>(md.data()), len);
  if (only_ip) {
    key += "/ip:";
    key.append(reinterpret_cast<const char*>(only_ip->bytes().data()), only_ip->size());
  }
  return key;
}

}  // namespace

ForgedCertCache::ForgedCertCache(size_t capacity, size_t shards,
                                 std::function<Clock::time_point()> now)
    : now_(std::move(now)) {
  if (capacity == 0 || shards == 0) {
    throw std::invalid_argument("forged certificate cache needs capacity and shards >= 1");
  }
  n_shards_ = std::min(shards, capacity);
  per_shard_capacity_ = capacity / n_shards_;
  shards_ = std::make_unique<Shard[]>(n_shards_);
}

ForgedCertCache::~ForgedCertCache() = default;

std::shared_ptr<const ForgedCert> ForgedCertCache::get_or_forge(
    const LeafForger& forger, X509* upstream_leaf, const std::optional<IpAddress>& only_ip) {
  return get_or_insert(cache_key(forger, upstream_leaf, only_ip),
                       [&] { return forger.forge(upstream_leaf, only_ip); });
}

std::shared_ptr<const ForgedCert> ForgedCertCache::get_or_forge_name(const LeafForger& forger,
                                                                     std::string_view name) {
  std::string key = "name:" + forger.ca().cache_id() + "/" + std::string(name);
  return get_or_insert(std::move(key), [&] { return forger.forge_for_name(name); });
}

std::shared_ptr<const ForgedCert> ForgedCertCache::get_or_insert(
    std::string key, const std::function<std::shared_ptr<const ForgedCert>()>& forge) {
  Shard& shard = shards_[std::hash<std::string>{}(key) % n_shards_];
  const Clock::time_point now = now_();
  auto fresh = [now](const Shard::Entry& entry) { return now < entry.second->renew_after; };
  {
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.index.find(key); it != shard.index.end() && fresh(*it->second)) {
      shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
      hits_.fetch_add(1, std::memory_order_relaxed);
      return it->second->second;
    }
  }
  // Signing takes ~0.1 ms: other connections on this shard must not wait.
  misses_.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<const ForgedCert> forged = forge();

  std::lock_guard lock(shard.mutex);
  if (auto it = shard.index.find(key); it != shard.index.end()) {
    if (fresh(*it->second)) {
      // Another thread forged the same leaf meanwhile: everyone serves one.
      shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
      return it->second->second;
    }
    shard.lru.erase(it->second);  // due for renewal: replaced below
    shard.index.erase(it);
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
