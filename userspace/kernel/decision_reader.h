// The `decisions` ring of the steering program (bpf/steer.bpf.c): one record
// per decision the kernel takes alone — bypass on the SYN, the SNI check of a
// BYPASS_VERIFY flow, fail_mode, QUIC refused — decoded, and a reader that
// consumes the ring on its own thread so the event log can report them
// (DESIGN.md §7).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "common/ip_address.h"
#include "tlsgate_abi.h"

struct ring_buffer;  // libbpf

namespace tlsgate::kernel {

struct KernelDecision {
  Endpoint client;
  Endpoint server;
  tg_decision_kind kind = TG_DECISION_BYPASS_CLIENT;
  tg_flow_reason reason = TG_REASON_NONE;
  std::optional<uint32_t> rule_index;  // index in the rules the maps were compiled from
  std::optional<std::string> sni;      // the name checked (at most TG_DECISION_SNI_LEN bytes)
};

// nullopt when `record` is not a well-formed struct tg_decision (size,
// family, kind): a record from another object version is skipped, not guessed.
std::optional<KernelDecision> decode_decision(std::span<const uint8_t> record);

// Polls the ring from a thread of its own and calls `on_decision` there for
// each record, until stop() or destruction. The ring's fd must outlive the
// reader (KernelSide owns it).
class DecisionReader {
 public:
  using Callback = std::function<void(const KernelDecision&)>;

  // Throws std::runtime_error when libbpf cannot map the ring.
  DecisionReader(int ring_fd, Callback on_decision);
  ~DecisionReader();
  DecisionReader(const DecisionReader&) = delete;
  DecisionReader& operator=(const DecisionReader&) = delete;

  // Joins the thread after the current poll (at most kPollTimeout). Idempotent.
  void stop();

  uint64_t records() const { return records_.load(std::memory_order_relaxed); }
  uint64_t malformed() const { return malformed_.load(std::memory_order_relaxed); }

 private:
  struct RingDeleter {
    void operator()(ring_buffer* ring) const;
  };
  static int on_sample(void* ctx, void* data, size_t size);
  void run();

  Callback on_decision_;
  std::unique_ptr<ring_buffer, RingDeleter> ring_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> malformed_{0};
  std::thread thread_;
};

}  // namespace tlsgate::kernel
