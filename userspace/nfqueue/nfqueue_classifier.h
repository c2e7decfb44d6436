// The NFQUEUE path of DESIGN.md §2: the TC program could not finish a
// BYPASS_VERIFY flow's ClientHello (the SNI lies past the first segment) and
// marked its packets; an xtables rule queues them here. A reader thread holds
// each such flow's segments, reassembles the ClientHello (QueuedHello),
// decides with the same definition as the kernel, tells the kernel (flow
// state, and on a refusal the demotion of the address) and gives the verdict:
// accept the held segments, or drop them and send the server a RST in place
// of the first (the client's retransmission meets the kernel's RST).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "policy/sni_bypass_set.h"
#include "tlsgate_abi.h"

namespace tlsgate::nfqueue {

// What the classifier tells the kernel (implemented on top of KernelSide).
class QueuedFlowVerdicts {
 public:
  virtual ~QueuedFlowVerdicts() = default;
  // The flow is forwarded from now on, unqueued.
  virtual void bypass(const tg_flow_key& flow) = 0;
  // The flow is refused; its server address is demoted (the retry is steered).
  virtual void reset(const tg_flow_key& flow) = 0;
};

struct NfqueueSettings {
  uint16_t queue = 0;
  // fail_mode closed: a full queue drops rather than passes packets.
  bool fail_closed = false;
  // A flow whose ClientHello has not shown its SNI by then is refused.
  std::chrono::milliseconds hold_timeout{3000};
  size_t max_flows = 4096;  // flows held at once; beyond, new ones are refused
};

struct NfqueueCounters {
  std::atomic<uint64_t> packets{0};          // packets received from the queue
  std::atomic<uint64_t> flows_passed{0};     // decided PASS
  std::atomic<uint64_t> flows_reset{0};      // decided RESET (SNI, not TLS, ...)
  std::atomic<uint64_t> flows_timed_out{0};  // refused: no SNI within hold_timeout
  std::atomic<uint64_t> flows_overflow{0};   // refused: max_flows held already
  std::atomic<uint64_t> unparsable{0};       // not TCP: accepted unjudged
};

class NfqueueClassifier {
 public:
  // Binds the queue (throws std::runtime_error naming the step, e.g. when
  // another process holds it) and starts the reader thread.
  NfqueueClassifier(NfqueueSettings settings, QueuedFlowVerdicts& kernel,
                    std::shared_ptr<const policy::SniBypassSet> names);
  ~NfqueueClassifier();  // stops the thread; held packets get no verdict (the kernel drops them)
  NfqueueClassifier(const NfqueueClassifier&) = delete;
  NfqueueClassifier& operator=(const NfqueueClassifier&) = delete;

  // The bypassed names after a reload.
  void set_names(std::shared_ptr<const policy::SniBypassSet> names);
  const NfqueueCounters& counters() const { return counters_; }
  // Counter name -> value, for status and metrics.
  std::map<std::string, uint64_t> counter_values() const;

 private:
  struct Impl;
  NfqueueCounters counters_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tlsgate::nfqueue
