// The loaded `[[threat_list]]`s (DESIGN.md §4a): built once from the list
// files (at start and on every reload, off the worker threads), then
// read-only and shared; workers hold a shared_ptr to the set they started
// a check with, so a reload swaps sets without dropping a flow.
//
// Matching:
//   match_name(host)           domains lists: the name or any name above it
//                              ("a.evil.example" hits the entry "evil.example");
//                              hosts lists: the name itself.
//   match_request(authority, target)
//                              match_name on the authority's host, then urls
//                              lists: host+path+query, host+path, and every
//                              directory of the path ("evil.example/a/" covers
//                              "/a/b").
// The first list in configuration order that holds a matching entry wins.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "policy/threat_list_spec.h"
#include "threat/fingerprint_table.h"

namespace tlsgate::threat {

// A list file that cannot be read: a configuration error (the daemon does
// not start; a reload is refused and the running lists stay).
class ThreatListError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct MalformedLine {
  size_t line = 0;  // 1-based
  std::string problem;
};

// Hits per list, kept across reloads for a list of the same name.
struct ThreatListCounters {
  std::atomic<uint64_t> sni_hits{0};
  std::atomic<uint64_t> request_hits{0};
};

struct ThreatListInfo {
  policy::ThreatListSpec spec;
  size_t entries = 0;    // valid entries (a hosts-file line may hold several)
  size_t malformed = 0;  // malformed lines, all counted
  static constexpr size_t kMalformedShown = 20;
  std::vector<MalformedLine> malformed_lines;  // the first kMalformedShown
  std::chrono::system_clock::time_point loaded_at;
  std::chrono::microseconds load_time{0};
  std::shared_ptr<ThreatListCounters> counters;
};

struct ThreatHit {
  size_t list = 0;  // index into lists()
  std::string list_name;
  std::string entry;  // the matching entry, normalized
};

class ThreatLists {
 public:
  ThreatLists() = default;

  // Reads every list file. `previous` (may be null) hands its hit counters
  // to the lists of the same name. `watched_wildcards` are suffixes S of
  // kernel-bypassed patterns "*.S": entries_below() reports which of them
  // have an entry strictly below them (see withhold_threatened_names).
  static std::shared_ptr<const ThreatLists> load(
      std::span<const policy::ThreatListSpec> specs, const ThreatLists* previous = nullptr,
      std::span<const std::string> watched_wildcards = {});
  // From entries already in memory (tests, bench): one string of lines per list.
  static std::shared_ptr<const ThreatLists> from_text(
      std::span<const policy::ThreatListSpec> specs, std::span<const std::string> texts,
      std::span<const std::string> watched_wildcards = {});

  std::optional<ThreatHit> match_name(std::string_view host) const;
  std::optional<ThreatHit> match_request(std::string_view authority, std::string_view target) const;
  // Only the domains lists, at `name` and the names above it: whether every
  // name below "*.name" is threat-listed.
  std::optional<ThreatHit> match_domain_or_above(std::string_view name) const;

  const std::vector<ThreatListInfo>& lists() const { return lists_; }
  bool empty() const { return lists_.empty(); }
  // Watched wildcard suffix -> "<list>: <entry>" for the first entry found below it.
  const std::map<std::string, std::string, std::less<>>& entries_below() const {
    return entries_below_;
  }
  size_t table_capacity() const { return table_.capacity(); }

 private:
  class Builder;
  std::optional<ThreatHit> lowest(std::optional<ThreatHit> a, std::optional<ThreatHit> b) const;
  std::optional<ThreatHit> hit(KeyKind kind, std::string_view key) const;

  std::vector<ThreatListInfo> lists_;
  FingerprintTable table_;
  bool has_domains_ = false, has_hosts_ = false, has_urls_ = false;
  std::map<std::string, std::string, std::less<>> entries_below_;
};

}  // namespace tlsgate::threat
