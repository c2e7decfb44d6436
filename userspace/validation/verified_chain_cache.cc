#include "validation/verified_chain_cache.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

namespace tlsgate::tls {
namespace {

using EvpMdPtr = std::unique_ptr<EVP_MD, OpenSslDeleter<EVP_MD_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpenSslDeleter<EVP_MD_CTX_free>>;

// Fetched once per process, not per key.
const EVP_MD* sha256() {
  static const EvpMdPtr md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  return md.get();
}

bool add_u64(EVP_MD_CTX* ctx, uint64_t v) {
  unsigned char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(v >> (56 - 8 * i));
  return EVP_DigestUpdate(ctx, bytes, sizeof bytes) == 1;
}

// The earliest notAfter of `chain`; nullopt when one cannot be read.
std::optional<std::chrono::system_clock::time_point> earliest_not_after(const STACK_OF(X509) *
                                                                        chain) {
  std::optional<std::chrono::system_clock::time_point> earliest;
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(sk_X509_value(chain, i)), &tm) != 1) {
      return std::nullopt;
    }
    const auto t = std::chrono::system_clock::from_time_t(timegm(&tm));
    if (!earliest || t < *earliest) earliest = t;
  }
  return earliest;
}

X509StackPtr up_ref_copy(const STACK_OF(X509) * chain) {
  return X509StackPtr(X509_chain_up_ref(const_cast<STACK_OF(X509)*>(chain)));
}

}  // namespace

size_t VerifiedChainCache::KeyHash::operator()(const Key& k) const {
  size_t h;
  std::memcpy(&h, k.data(), sizeof h);  // already a SHA-256
  return h;
}

VerifiedChainCache::VerifiedChainCache() : VerifiedChainCache(Settings{}) {}

VerifiedChainCache::VerifiedChainCache(Settings settings, Clock now)
    : settings_(settings),
      now_(now ? std::move(now) : Clock([] { return std::chrono::system_clock::now(); })) {}

std::optional<VerifiedChainCache::Key> VerifiedChainCache::key_of(const STACK_OF(X509) * presented,
                                                                  std::string_view host,
                                                                  uint64_t generation) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || sha256() == nullptr || EVP_DigestInit_ex(ctx.get(), sha256(), nullptr) != 1 ||
      !add_u64(ctx.get(), generation) || !add_u64(ctx.get(), host.size()) ||
      EVP_DigestUpdate(ctx.get(), host.data(), host.size()) != 1 ||
      !add_u64(ctx.get(), static_cast<uint64_t>(sk_X509_num(presented)))) {
    return std::nullopt;
  }
  std::vector<unsigned char> der;
  for (int i = 0; i < sk_X509_num(presented); ++i) {
    X509* cert = sk_X509_value(presented, i);
    const int len = i2d_X509(cert, nullptr);
    if (len <= 0) return std::nullopt;
    der.resize(static_cast<size_t>(len));
    unsigned char* out = der.data();
    if (i2d_X509(cert, &out) != len || !add_u64(ctx.get(), der.size()) ||
        EVP_DigestUpdate(ctx.get(), der.data(), der.size()) != 1) {
      return std::nullopt;
    }
  }
  Key key;
  unsigned int written = 0;
  if (EVP_DigestFinal_ex(ctx.get(), key.data(), &written) != 1 || written != key.size()) {
    return std::nullopt;
  }
  return key;
}

X509StackPtr VerifiedChainCache::find(const Key& key) {
  const auto now = now_();
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  // Expired, or the clock went back past the verification: verify again.
  // (The entry stays until replaced or evicted: order_ and entries_ hold the
  // same keys.)
  if (now >= it->second.expires_at || now < it->second.verified_at) return nullptr;
  ++hits_;
  return up_ref_copy(it->second.chain.get());
}

void VerifiedChainCache::remember(const Key& key, const STACK_OF(X509) * verified) {
  if (verified == nullptr || sk_X509_num(verified) == 0 || settings_.capacity == 0) return;
  const auto not_after = earliest_not_after(verified);
  if (!not_after) return;
  const auto now = now_();
  Entry entry{up_ref_copy(verified), now, std::min(now + settings_.ttl, *not_after)};
  if (!entry.chain || entry.expires_at <= now) return;
  std::lock_guard lock(mu_);
  // Entries go roughly in expiry order: the expired ones at the front leave
  // first, so the cache holds about one TTL's worth of chains, not capacity.
  while (!order_.empty()) {
    auto oldest = entries_.find(order_.front());
    if (oldest != entries_.end() && now < oldest->second.expires_at) break;
    if (oldest != entries_.end()) entries_.erase(oldest);
    order_.pop_front();
  }
  if (entries_.insert_or_assign(key, std::move(entry)).second) order_.push_back(key);
  while (entries_.size() > settings_.capacity) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
}

size_t VerifiedChainCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

uint64_t VerifiedChainCache::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

}  // namespace tlsgate::tls
