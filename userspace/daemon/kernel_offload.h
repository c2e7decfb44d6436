// The kernel side as the rest of the gateway uses it (DESIGN.md §2, §3):
// binds the terminator's interfaces (learned addresses, the sockmap relay)
// and the NFQUEUE classifier's (verdicts on queued flows) to KernelSide, and
// owns what lives as long as the gateway around them — the bypass prober and
// the NFQUEUE classifier.
//
// Built before the terminator starts (the context's pointers are then fixed
// for the workers' lifetime); attach() once the kernel side is installed,
// detach() before it is removed. Calls in between reach no kernel and are
// dropped: a flow is never steered without an installed kernel side anyway.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "config/gateway_config.h"
#include "kernel/kernel_side.h"
#include "nfqueue/nfqueue_classifier.h"
#include "policy/kernel_rule_compiler.h"
#include "terminator/bypass_probe.h"
#include "terminator/terminator_context.h"

namespace tlsgate::daemon {

class KernelOffload {
 public:
  KernelOffload(terminator::TerminatorContext& ctx, const config::GatewayConfig& config);
  ~KernelOffload();
  KernelOffload(const KernelOffload&) = delete;
  KernelOffload& operator=(const KernelOffload&) = delete;

  // The kernel side is installed: start using it (and the NFQUEUE queue).
  // Throws std::runtime_error when the queue cannot be bound.
  void attach(kernel::KernelSide& kernel, const policy::KernelRules& compiled);
  // Before the kernel side goes: stops the NFQUEUE classifier. Idempotent.
  void detach();
  // A successor takes over (handover.h): gives the NFQUEUE queue up, keeps
  // the kernel side for the flows still draining here.
  void release_queue() { nfqueue_.reset(); }
  // The compiled rules changed (reload).
  void set_rules(const policy::KernelRules& compiled);

  // nfqueue_* and bypass_probes counters.
  std::map<std::string, uint64_t> counters() const;

 private:
  class Learned;
  class Splice;
  class QueuedVerdicts;

  terminator::TerminatorContext& ctx_;
  bool fail_closed_;
  std::atomic<kernel::KernelSide*> kernel_{nullptr};
  std::unique_ptr<Learned> learned_;
  std::unique_ptr<Splice> splice_;
  std::unique_ptr<QueuedVerdicts> queued_;
  std::unique_ptr<terminator::BypassProber> prober_;
  std::unique_ptr<nfqueue::NfqueueClassifier> nfqueue_;
};

}  // namespace tlsgate::daemon
