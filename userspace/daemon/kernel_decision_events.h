// `flow` events for the decisions the kernel takes alone (DESIGN.md §7):
// reads the `decisions` ring of the steering program and writes one flow
// event per record, with "decided_by": "kernel", the rule named by the
// record's rule index when it is a bypass rule of the running rules, else
// "kernel".
//
// Flooding: a SYN flood from a bypassed client, or QUIC datagrams, make one
// record each. Two bounds keep the log usable: the ring (TG_DECISION_RING_SIZE)
// bounds what is in flight — records it cannot take are dropped in the kernel
// and counted (counter decision_records_dropped); and each decision kind has a
// token bucket (kRatePerSecond, kBurst) here — records over it are counted as
// suppressed instead of being written. Both counts are exported in metrics.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "events/event_log.h"
#include "kernel/decision_reader.h"
#include "policy/rule.h"

namespace tlsgate::daemon {

// The flow event a kernel decision stands for. `rules`: the running rules
// (may be null); a rule index that does not name a bypass rule there (the
// rules changed since the record was written) gives the rule "kernel".
events::FlowEvent flow_event_of(const kernel::KernelDecision& d, const policy::RuleSet* rules);

// Per decision kind: at most kBurst events at once, refilled at kRatePerSecond.
class DecisionRateLimit {
 public:
  static constexpr double kRatePerSecond = 50;
  static constexpr double kBurst = 200;
  using Clock = std::chrono::steady_clock;

  // Takes a token of `kind`'s bucket at `now`; false when it is empty.
  bool allow(tg_decision_kind kind, Clock::time_point now);

 private:
  struct Bucket {
    double tokens = kBurst;
    Clock::time_point last{};
  };
  std::array<Bucket, TG_DECISION_QUIC_REFUSED + 1> buckets_{};
};

class KernelDecisionEvents {
 public:
  using RulesSource = std::function<std::shared_ptr<const policy::RuleSet>()>;

  // Starts reading `ring_fd` (KernelSide::decisions_fd()); throws
  // std::runtime_error when the ring cannot be mapped.
  KernelDecisionEvents(int ring_fd, events::EventLog& log, RulesSource rules);
  // Stops the reader thread; idempotent.
  void stop();

  uint64_t emitted() const { return emitted_.load(std::memory_order_relaxed); }
  uint64_t suppressed() const { return suppressed_.load(std::memory_order_relaxed); }

 private:
  void on_decision(const kernel::KernelDecision& d);

  events::EventLog& log_;
  RulesSource rules_;
  DecisionRateLimit limit_;  // only touched by the reader thread
  std::atomic<uint64_t> emitted_{0};
  std::atomic<uint64_t> suppressed_{0};
  std::unique_ptr<kernel::DecisionReader> reader_;  // last: stopped first
};

}  // namespace tlsgate::daemon
