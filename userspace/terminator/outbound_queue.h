// Bytes waiting to go out on one socket. At most one send is in flight per
// socket: `inflight` is what the kernel may be reading right now and is never
// touched until that send completes; new bytes go to `queued`. The two
// buffers swap roles while data flows (no reallocation) and are freed once
// everything was sent: an idle connection holds no send buffer.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

namespace tlsgate::terminator {

class OutboundQueue {
 public:
  void append(std::span<const uint8_t> bytes) {
    if (queued_.capacity() == 0) queued_.reserve(std::max(bytes.size(), kFirstCapacity));
    queued_.insert(queued_.end(), bytes.begin(), bytes.end());
  }

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
      if (queued_.empty()) release_memory();
    }
  }
  // Frees both buffers when nothing is waiting (never the one a send reads).
  void release_memory() {
    if (!empty() || sending_) return;
    std::vector<uint8_t>().swap(inflight_);
    std::vector<uint8_t>().swap(queued_);
  }

 private:
  // Room for a few TLS records: appends of a burst rarely reallocate.
  static constexpr size_t kFirstCapacity = 32 * 1024;
  std::vector<uint8_t> inflight_;
  size_t inflight_off_ = 0;
  std::vector<uint8_t> queued_;
  bool sending_ = false;
};

}  // namespace tlsgate::terminator
