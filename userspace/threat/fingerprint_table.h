// The compact store behind the threat lists (DESIGN.md §4a, sized for
// millions of entries): an open-addressing table of 64-bit fingerprints of
// the entries, each with the index of the first list that holds it. No entry
// text is kept: a hit is reported with the key that was looked up, which is
// the entry. About 20 bytes per entry at 1,000,000 entries, one cache line
// per lookup. Two keys share a fingerprint with probability ~2^-64 per pair;
// the kind of key is part of its fingerprint, so a domain entry never
// answers a URL lookup.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace tlsgate::threat {

enum class KeyKind : uint8_t { domain = 1, host = 2, url = 3 };

uint64_t fingerprint(KeyKind kind, std::string_view key);

class FingerprintTable {
 public:
  struct Item {
    uint64_t fingerprint;
    uint16_t list;
  };

  FingerprintTable() = default;
  // Room for `expected` entries before the first rehash.
  explicit FingerprintTable(size_t expected);

  // A fingerprint added twice keeps the lowest list index.
  void add(Item item);
  std::optional<uint16_t> find(uint64_t fingerprint) const;
  // Starts loading the slot of `fingerprint`: a lookup of several keys
  // (every suffix of a name) then waits for memory about once, not per key.
  void prefetch(uint64_t fingerprint) const {
    if (!fingerprints_.empty()) __builtin_prefetch(&fingerprints_[fingerprint & mask_]);
  }
  size_t size() const { return size_; }
  size_t capacity() const { return fingerprints_.size(); }

 private:
  void rehash(size_t capacity);

  std::vector<uint64_t> fingerprints_;  // 0: empty slot
  std::vector<uint16_t> lists_;
  uint64_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace tlsgate::threat
