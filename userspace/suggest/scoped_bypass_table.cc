#include "suggest/scoped_bypass_table.h"

#include <algorithm>

namespace tlsgate::suggest {

namespace {

int64_t epoch_ms(Time t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

ScopedBypassTable::Entry::Entry(ScopedBypass b, Time first_retest)
    : bypass(std::move(b)), next_retest_ms(epoch_ms(first_retest)) {}

ScopedBypassTable::ScopedBypassTable(std::chrono::milliseconds retest_interval)
    : retest_interval_ms_(retest_interval.count()), snapshot_(std::make_shared<const Snapshot>()) {}

ScopedMatch ScopedBypassTable::match(const IpAddress& client, std::string_view sni,
                                     Time now) const {
  const auto snapshot = snapshot_.load(std::memory_order_acquire);
  const auto named = snapshot->find(sni);
  if (named == snapshot->end()) return {};
  for (const auto& entry : named->second) {
    const ScopedBypass& b = entry->bypass;
    if (!b.device.contains(client)) continue;
    if (now >= b.expires) return {ScopedDecision::retest, b.id};
    // One flow per interval wins the claim; the others stay bypassed.
    const int64_t now_ms = epoch_ms(now);
    int64_t due = entry->next_retest_ms.load(std::memory_order_relaxed);
    if (now_ms >= due && entry->next_retest_ms.compare_exchange_strong(
                             due, now_ms + retest_interval_ms_.load(std::memory_order_relaxed),
                             std::memory_order_relaxed)) {
      return {ScopedDecision::retest, b.id};
    }
    return {ScopedDecision::bypass, b.id};
  }
  return {};
}

void ScopedBypassTable::set_retest_interval(std::chrono::milliseconds interval) {
  retest_interval_ms_.store(interval.count(), std::memory_order_relaxed);
}

ScopedBypassTable::Entries ScopedBypassTable::entries() const {
  Entries out;
  for (const auto& [sni, named] : *snapshot_.load(std::memory_order_acquire)) {
    out.insert(out.end(), named.begin(), named.end());
  }
  return out;
}

void ScopedBypassTable::publish(const Entries& entries) {
  auto next = std::make_shared<Snapshot>();
  for (const auto& entry : entries) (*next)[entry->bypass.sni].push_back(entry);
  snapshot_.store(std::move(next), std::memory_order_release);
}

void ScopedBypassTable::put(const ScopedBypass& bypass, Time first_retest) {
  Entries next = entries();
  std::erase_if(next, [&](const auto& e) { return e->bypass.id == bypass.id; });
  next.push_back(std::make_shared<const Entry>(bypass, first_retest));
  publish(next);
}

bool ScopedBypassTable::remove(const std::string& id) {
  Entries next = entries();
  const size_t removed = std::erase_if(next, [&](const auto& e) { return e->bypass.id == id; });
  if (removed > 0) publish(next);
  return removed > 0;
}

void ScopedBypassTable::drop_expired_before(Time before) {
  Entries next = entries();
  const size_t dropped =
      std::erase_if(next, [&](const auto& e) { return e->bypass.expires < before; });
  if (dropped > 0) publish(next);
}

std::vector<ScopedBypass> ScopedBypassTable::list() const {
  std::vector<ScopedBypass> out;
  for (const auto& entry : entries()) out.push_back(entry->bypass);
  return out;
}

std::optional<ScopedBypass> ScopedBypassTable::find(const std::string& id) const {
  for (const auto& entry : entries()) {
    if (entry->bypass.id == id) return entry->bypass;
  }
  return std::nullopt;
}

}  // namespace tlsgate::suggest
