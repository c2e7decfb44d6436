#include "threat/fingerprint_table.h"

#include <bit>
#include <cstring>

namespace tlsgate::threat {

namespace {

// MurmurHash64A (Austin Appleby, public domain): fast on short keys and well
// mixed in every bit, which linear probing on the low bits needs.
uint64_t murmur64a(std::string_view key, uint64_t seed) {
  constexpr uint64_t m = 0xc6a4a7935bd1e995ULL;
  constexpr int r = 47;
  uint64_t h = seed ^ (key.size() * m);
  const char* p = key.data();
  const char* end = p + (key.size() & ~size_t{7});
  for (; p != end; p += 8) {
    uint64_t k;
    std::memcpy(&k, p, 8);
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  const size_t tail = key.size() & 7;
  if (tail != 0) {
    uint64_t k = 0;
    std::memcpy(&k, p, tail);
    h ^= k;
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

// At most 70 % full: a miss then reads a few neighbouring slots, mostly
// within one cache line.
size_t capacity_for(size_t n) {
  return std::bit_ceil(std::max<size_t>(16, n + n * 3 / 7 + 1));
}

}  // namespace

uint64_t fingerprint(KeyKind kind, std::string_view key) {
  const uint64_t h = murmur64a(key, 0x7468726561740000ULL | static_cast<uint64_t>(kind));
  return h == 0 ? 1 : h;  // 0 marks an empty slot
}

FingerprintTable::FingerprintTable(size_t expected) {
  rehash(capacity_for(expected));
}

void FingerprintTable::rehash(size_t capacity) {
  std::vector<uint64_t> old_fingerprints(capacity, 0);
  std::vector<uint16_t> old_lists(capacity, 0);
  old_fingerprints.swap(fingerprints_);
  old_lists.swap(lists_);
  mask_ = capacity - 1;
  size_ = 0;
  for (size_t i = 0; i < old_fingerprints.size(); ++i) {
    if (old_fingerprints[i] != 0) add({old_fingerprints[i], old_lists[i]});
  }
}

void FingerprintTable::add(Item item) {
  if (fingerprints_.empty() || (size_ + 1) * 10 > fingerprints_.size() * 7) {
    rehash(capacity_for(std::max<size_t>(size_ + 1, fingerprints_.size())));
  }
  for (uint64_t slot = item.fingerprint & mask_;; slot = (slot + 1) & mask_) {
    if (fingerprints_[slot] == 0) {
      fingerprints_[slot] = item.fingerprint;
      lists_[slot] = item.list;
      ++size_;
      return;
    }
    if (fingerprints_[slot] == item.fingerprint) {
      if (item.list < lists_[slot]) lists_[slot] = item.list;
      return;
    }
  }
}

std::optional<uint16_t> FingerprintTable::find(uint64_t fp) const {
  if (size_ == 0) return std::nullopt;
  for (uint64_t slot = fp & mask_;; slot = (slot + 1) & mask_) {
    const uint64_t here = fingerprints_[slot];
    if (here == fp) return lists_[slot];
    if (here == 0) return std::nullopt;
  }
}

}  // namespace tlsgate::threat
