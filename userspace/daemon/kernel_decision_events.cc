#include "daemon/kernel_decision_events.h"

#include <algorithm>
#include <string>

namespace tlsgate::daemon {

namespace {

std::string_view action_of(tg_decision_kind kind) {
  switch (kind) {
    case TG_DECISION_VERIFY_RESET:
    case TG_DECISION_FAIL_CLOSED:
    case TG_DECISION_QUIC_REFUSED:
      return "block";
    default:
      return "bypass";
  }
}

std::string_view no_listener_why(tg_flow_reason reason) {
  return reason == TG_REASON_ASSIGN_FAILED ? "assign_failed" : "no_listener";
}

std::string reason_of(const kernel::KernelDecision& d) {
  switch (d.kind) {
    case TG_DECISION_BYPASS_CLIENT:
      return "kernel:client_bypass";
    case TG_DECISION_BYPASS_DST:
      return "kernel:dst_bypass";
    case TG_DECISION_VERIFY_PASS:
      return "kernel:sni_verified";
    case TG_DECISION_VERIFY_RESET:
      return "kernel:sni_mismatch";
    case TG_DECISION_FAIL_OPEN:
      return "kernel:fail_open:" + std::string(no_listener_why(d.reason));
    case TG_DECISION_FAIL_CLOSED:
      return "kernel:fail_closed:" + std::string(no_listener_why(d.reason));
    case TG_DECISION_QUIC_REFUSED:
      return "kernel:quic_refused";
  }
  return "kernel";
}

std::string rule_of(const kernel::KernelDecision& d, const policy::RuleSet* rules) {
  if (!d.rule_index || rules == nullptr || *d.rule_index >= rules->rules.size()) return "kernel";
  const policy::Rule& rule = rules->rules[*d.rule_index];
  // Only bypass rules are compiled into the maps; anything else means the
  // rules were replaced after the record was written.
  return rule.action == policy::Action::bypass ? rule.name : "kernel";
}

}  // namespace

events::FlowEvent flow_event_of(const kernel::KernelDecision& d, const policy::RuleSet* rules) {
  events::FlowEvent e;
  e.client = d.client.to_string();
  e.server = d.server.to_string();
  e.sni = d.sni;
  e.action = action_of(d.kind);
  e.rule = rule_of(d, rules);
  e.reason = reason_of(d);
  e.decided_by = "kernel";
  return e;
}

bool DecisionRateLimit::allow(tg_decision_kind kind, Clock::time_point now) {
  Bucket& b = buckets_[static_cast<size_t>(kind) % buckets_.size()];
  if (b.last != Clock::time_point{}) {
    const std::chrono::duration<double> elapsed = now - b.last;
    b.tokens = std::min(kBurst, b.tokens + std::max(0.0, elapsed.count()) * kRatePerSecond);
  }
  b.last = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

KernelDecisionEvents::KernelDecisionEvents(int ring_fd, events::EventLog& log, RulesSource rules)
    : log_(log), rules_(std::move(rules)) {
  reader_ = std::make_unique<kernel::DecisionReader>(
      ring_fd, [this](const kernel::KernelDecision& d) { on_decision(d); });
}

void KernelDecisionEvents::stop() {
  if (reader_) reader_->stop();
}

void KernelDecisionEvents::on_decision(const kernel::KernelDecision& d) {
  if (!limit_.allow(d.kind, DecisionRateLimit::Clock::now())) {
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  auto rules = rules_();
  log_.emit(flow_event_of(d, rules.get()));
  emitted_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace tlsgate::daemon
