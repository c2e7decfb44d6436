// The io_uring layer beneath the terminator: one ring per worker thread, a
// provided-buffer ring for receives, and completion tags that say which
// connection and which operation a completion belongs to. Nothing above this
// file calls liburing directly except to fill the SQE it is handed.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace tlsgate::terminator {

// What an SQE waits for; encoded with the connection slot in user_data.
enum class OpKind : uint8_t {
  accept = 1,
  recv_client,
  recv_upstream,
  send_client,
  send_upstream,
  connect_upstream,
  link_timeout,  // the timeout linked to any of the above
  cancel,
  wakeup,         // the worker's eventfd (stop / reload)
  poll_client,    // end of a kernel-spliced flow's client socket (POLLRDHUP ...)
  poll_upstream,  // same, upstream socket
  timer,          // a connection's own timer (kernel splice drain checks)
  icap,           // the worker's ICAP client (slot: its own operation id)
};

struct OpTag {
  OpKind kind;
  uint32_t slot;  // connection slot, or listener index for accept

  uint64_t encode() const { return (uint64_t{slot} << 8) | static_cast<uint8_t>(kind); }
  static OpTag decode(uint64_t user_data) {
    return OpTag{static_cast<OpKind>(user_data & 0xff), static_cast<uint32_t>(user_data >> 8)};
  }
};

class IoRing {
 public:
  explicit IoRing(unsigned entries);
  ~IoRing();
  IoRing(const IoRing&) = delete;
  IoRing& operator=(const IoRing&) = delete;

  // A free SQE, submitting queued ones first when the SQ is full.
  io_uring_sqe* next_sqe();
  // Submits queued SQEs and waits for at least one completion.
  void submit_and_wait();
  // Calls `on_cqe` for every available completion, then marks them seen.
  unsigned drain(const std::function<void(const io_uring_cqe&)>& on_cqe);

  io_uring* raw() { return &ring_; }

 private:
  io_uring ring_{};
};

// A ring of equally sized receive buffers the kernel picks from (buffer group
// `group`), so idle connections hold no receive memory.
class ProvidedBuffers {
 public:
  ProvidedBuffers(IoRing& ring, uint16_t group, unsigned count, unsigned size);
  ~ProvidedBuffers();
  ProvidedBuffers(const ProvidedBuffers&) = delete;
  ProvidedBuffers& operator=(const ProvidedBuffers&) = delete;

  uint16_t group() const { return group_; }
  unsigned buffer_size() const { return size_; }
  std::span<const uint8_t> data(uint16_t buffer_id, size_t length) const;
  // Hands a buffer back to the kernel once its bytes were consumed.
  void recycle(uint16_t buffer_id);

 private:
  IoRing& ring_;
  uint16_t group_;
  unsigned count_;
  unsigned size_;
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t ring_bytes_ = 0;
  std::vector<uint8_t> storage_;
};

// A CQE's buffer id when IORING_CQE_F_BUFFER is set.
inline bool cqe_has_buffer(const io_uring_cqe& cqe) {
  return cqe.flags & IORING_CQE_F_BUFFER;
}
inline uint16_t cqe_buffer_id(const io_uring_cqe& cqe) {
  return static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
}

}  // namespace tlsgate::terminator
