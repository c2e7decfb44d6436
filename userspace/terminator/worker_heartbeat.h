// Proof that every worker's event loop turns, for the systemd watchdog: each
// round a ping is posted to every worker's mailbox and answered from its
// loop; the watchdog is fed only when all workers answered the previous
// round. A worker stuck in a busy loop or a blocking call stops answering.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace tlsgate::terminator {

class WorkerHeartbeat {
 public:
  explicit WorkerHeartbeat(size_t workers)
      : answered_(std::make_unique<std::atomic<uint64_t>[]>(workers)), workers_(workers) {}

  // Watchdog thread: did every worker answer the current round? (Round 0,
  // before any ping, counts as answered.) Then starts the next round and
  // returns its number, which the pings carry.
  bool all_answered() const {
    for (size_t i = 0; i < workers_; ++i) {
      if (answered_[i].load(std::memory_order_acquire) != round_) return false;
    }
    return true;
  }
  uint64_t next_round() { return ++round_; }

  // Worker `worker`'s thread, from its loop.
  void answer(size_t worker, uint64_t round) {
    answered_[worker].store(round, std::memory_order_release);
  }

 private:
  std::unique_ptr<std::atomic<uint64_t>[]> answered_;
  size_t workers_;
  uint64_t round_ = 0;  // watchdog thread only
};

}  // namespace tlsgate::terminator
