// Bytes waiting to go out on one socket. At most one send is in flight per
// socket: `inflight` is what the kernel may be reading right now and is never
// touched until that send completes; new bytes go to `queued`.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace tlsgate::terminator {

class OutboundQueue {
 public:
  void append(std::span<const uint8_t> bytes) {
    queued_.insert(queued_.end(), bytes.begin(), bytes.end());
  }
  // Room at the end of `queued` for up to n bytes, written directly (e.g. by BIO_read).
  uint8_t* reserve_tail(size_t n) {
    size_t old = queued_.size();
    queued_.resize(old + n);
    return queued_.data() + old;
  }
  void shrink_tail(size_t unused) { queued_.resize(queued_.size() - unused); }

  bool sending() const { return sending_; }
  // Bytes not yet acknowledged by a completed send.
  size_t pending() const { return inflight_.size() - inflight_off_ + queued_.size(); }
  bool empty() const { return pending() == 0; }

  // The next span to send, or empty when nothing is due or a send is in flight.
  std::span<const uint8_t> start_send() {
    if (sending_) return {};
    if (inflight_off_ == inflight_.size()) {
      if (queued_.empty()) return {};
      inflight_.swap(queued_);
      queued_.clear();
      inflight_off_ = 0;
    }
    sending_ = true;
    return {inflight_.data() + inflight_off_, inflight_.size() - inflight_off_};
  }
  // A send completed having written `n` bytes.
  void complete_send(size_t n) {
    sending_ = false;
    inflight_off_ += n;
    if (inflight_off_ == inflight_.size()) {
      inflight_.clear();
      inflight_off_ = 0;
      // Idle connections should not keep a large buffer around.
      if (inflight_.capacity() > kKeepCapacity) std::vector<uint8_t>().swap(inflight_);
    }
  }
  void release_memory() {
    if (queued_.empty() && queued_.capacity() > kKeepCapacity) std::vector<uint8_t>().swap(queued_);
  }

 private:
  static constexpr size_t kKeepCapacity = 64 * 1024;
  std::vector<uint8_t> inflight_;
  size_t inflight_off_ = 0;
  std::vector<uint8_t> queued_;
  bool sending_ = false;
};

}  // namespace tlsgate::terminator
