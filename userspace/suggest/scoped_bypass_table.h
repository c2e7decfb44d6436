// Automatic bypasses (DESIGN.md §7, `auto_bypass`): each one scoped to a
// device group and an SNI, with an expiry and re-tests. Workers ask it for
// every inspected flow, so lookups take no lock: they read an immutable
// snapshot; only the claim of a periodic re-test is an atomic
// compare-and-swap in the entry. Changes (add, renew, remove) replace the
// snapshot under the owner's lock (suggest/bypass_advisor.h).
//
// A matching flow is
//   bypassed  while the entry is active;
//   a retest  once per `retest_interval` while active, and every flow once it
//             expired: inspected again, so that a client that now accepts our
//             certificate ends the bypass and one that still rejects it renews
//             the bypass (a re-test renews on one failure: the bypass itself
//             was granted only after `threshold` of them).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "suggest/candidate.h"

namespace tlsgate::suggest {

struct ScopedBypass {
  std::string id;  // the candidate's
  Cidr device;
  std::string sni;
  std::string ja4;  // of the rejecting client, for the listing
  Time created{};
  Time expires{};
  unsigned renewals = 0;
};

enum class ScopedDecision : uint8_t { none, bypass, retest };

struct ScopedMatch {
  ScopedDecision decision = ScopedDecision::none;
  std::string id;  // the scoped bypass that decided
};

class ScopedBypassTable {
 public:
  explicit ScopedBypassTable(std::chrono::milliseconds retest_interval);
  ScopedBypassTable(const ScopedBypassTable&) = delete;
  ScopedBypassTable& operator=(const ScopedBypassTable&) = delete;

  // Any thread, lock-free.
  ScopedMatch match(const IpAddress& client, std::string_view sni, Time now) const;

  // Writers: the caller serializes these.
  void set_retest_interval(std::chrono::milliseconds interval);
  // Adds or replaces (same id) an entry; its first periodic re-test is due
  // at `first_retest`.
  void put(const ScopedBypass& bypass, Time first_retest);
  bool remove(const std::string& id);
  // Entries expired before `before` go.
  void drop_expired_before(Time before);
  std::vector<ScopedBypass> list() const;
  std::optional<ScopedBypass> find(const std::string& id) const;

 private:
  struct Entry {
    explicit Entry(ScopedBypass b, Time first_retest);
    ScopedBypass bypass;
    mutable std::atomic<int64_t> next_retest_ms;  // epoch ms; claimed by compare-and-swap
  };
  using Entries = std::vector<std::shared_ptr<const Entry>>;
  // By SNI: a flow looks at the entries of its own name only.
  using Snapshot = std::map<std::string, Entries, std::less<>>;

  Entries entries() const;
  void publish(const Entries& entries);

  std::atomic<int64_t> retest_interval_ms_;
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
};

}  // namespace tlsgate::suggest
