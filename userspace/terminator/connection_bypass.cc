// Connection, the bypass-by-name part (DESIGN.md §2, bypass integrity): a
// bypass granted by an `sni` rule waits in verifying_bypass for the probe
// proving that the destination serves that name; a failed probe makes the
// flow inspected. What the verdict says about the server address is then
// taught to the kernel (`learned`).
#include <cstdio>

#include "terminator/connection.h"

namespace tlsgate::terminator {

// Only a rule that matched on the name grants a bypass the client could
// have claimed: address rules and the default action do not depend on it.
bool Connection::bypass_needs_probe(const policy::RuleSet& rules) const {
  if (sni_.empty() || !verdict_.rule_index || *verdict_.rule_index >= rules.rules.size()) {
    return false;
  }
  return !rules.rules[*verdict_.rule_index].sni.empty();
}

void Connection::verify_bypass() {
  state_ = State::verifying_bypass;
  if (ctx_.prober == nullptr) {
    on_probe_result({false, "no prober configured"});
    return;
  }
  // The probe ends within its own timeout (at most the handshake timeout),
  // so this state needs no timer of its own. The result comes back through
  // the worker's mailbox, dropped if this connection is gone by then.
  ConnectionWaker waker = io_.waker(*this);
  auto cached = ctx_.prober->lookup_or_probe(original_dst_, sni_, [waker](const ProbeResult& r) {
    waker.post([r](Connection& c) { c.on_probe_result(r); });
  });
  if (cached) on_probe_result(*cached);
}

void Connection::on_probe_result(const ProbeResult& result) {
  if (state_ != State::verifying_bypass) return;
  if (result.verified) {
    TerminatorCounters::add(counters_.bypassed);
    teach_kernel(true);
    connect_upstream();
    return;
  }
  // Not proven: the name may be a pretext (DESIGN.md §2). Inspect instead;
  // the rule name stays in the flow event, with action "inspect".
  std::fprintf(stderr,
               "tlsgated: bypass of %s at %s not proven, inspecting instead (rule %s): %s\n",
               sni_.c_str(), original_dst_.to_string().c_str(), verdict_.rule_name.c_str(),
               result.detail.c_str());
  TerminatorCounters::add(counters_.bypass_probe_failures);
  TerminatorCounters::add(counters_.inspected);
  verdict_.action = policy::Action::inspect;
  flow_action_ = "inspect";
  teach_kernel(false);
  connect_upstream();
}

// An address becomes bypass-only only through a proven bypass of a name the
// kernel itself can check (sni_policy); every other verdict keeps it steered.
void Connection::teach_kernel(bool bypass_verified) {
  if (ctx_.learned == nullptr) return;
  auto names = ctx_.kernel_names.load();
  try {
    if (bypass_verified && names && names->allows(sni_)) {
      ctx_.learned->bypass_only(original_dst_);
    } else {
      ctx_.learned->mixed(original_dst_);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlsgated: learned %s: %s\n", original_dst_.to_string().c_str(), e.what());
  }
}

}  // namespace tlsgate::terminator
