#include "terminator/io_ring.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace tlsgate::terminator {

namespace {

std::runtime_error io_error(const std::string& what, int err) {
  return std::runtime_error(what + ": " + std::strerror(err));
}

}  // namespace

IoRing::IoRing(unsigned entries) {
  io_uring_params params{};
  // One thread submits and reaps; completions are run when we wait, not by
  // interrupting the worker (cheaper task work on 6.x kernels).
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL;
  params.flags |= IORING_SETUP_CQSIZE;
  params.cq_entries = entries * 4;
  int ret = io_uring_queue_init_params(entries, &ring_, &params);
  if (ret == -EINVAL) {
    params = {};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = entries * 4;
    ret = io_uring_queue_init_params(entries, &ring_, &params);
  }
  if (ret < 0) throw io_error("io_uring_queue_init", -ret);
}

IoRing::~IoRing() {
  io_uring_queue_exit(&ring_);
}

io_uring_sqe* IoRing::next_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) throw std::runtime_error("io_uring: submission queue stays full");
  }
  return sqe;
}

void IoRing::submit_and_wait() {
  int ret = io_uring_submit_and_wait(&ring_, 1);
  if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY && ret != -ETIME) {
    throw io_error("io_uring_submit_and_wait", -ret);
  }
}

unsigned IoRing::drain(const std::function<void(const io_uring_cqe&)>& on_cqe) {
  unsigned head = 0;
  unsigned seen = 0;
  io_uring_cqe* cqe = nullptr;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    on_cqe(*cqe);
    ++seen;
  }
  io_uring_cq_advance(&ring_, seen);
  return seen;
}

ProvidedBuffers::ProvidedBuffers(IoRing& ring, uint16_t group, unsigned count, unsigned size)
    : ring_(ring), group_(group), count_(count), size_(size) {
  if (count == 0 || (count & (count - 1)) != 0 || count > 32768) {
    throw std::invalid_argument("provided buffer count must be a power of two <= 32768");
  }
  ring_bytes_ = count * sizeof(io_uring_buf);
  void* mem =
      mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) throw io_error("mmap provided buffer ring", errno);
  buf_ring_ = static_cast<io_uring_buf_ring*>(mem);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(buf_ring_);
  reg.ring_entries = count;
  reg.bgid = group;
  // liburing 2.3 has no io_uring_setup_buf_ring: register the ring ourselves.
  int ret = io_uring_register_buf_ring(ring_.raw(), &reg, 0);
  if (ret < 0) {
    munmap(buf_ring_, ring_bytes_);
    throw io_error("io_uring_register_buf_ring", -ret);
  }
  storage_.resize(size_t{count} * size);
  io_uring_buf_ring_init(buf_ring_);
  int mask = io_uring_buf_ring_mask(count);
  for (unsigned i = 0; i < count; ++i) {
    io_uring_buf_ring_add(buf_ring_, storage_.data() + size_t{i} * size, size,
                          static_cast<unsigned short>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(count));
}

ProvidedBuffers::~ProvidedBuffers() {
  io_uring_unregister_buf_ring(ring_.raw(), group_);
  munmap(buf_ring_, ring_bytes_);
}

std::span<const uint8_t> ProvidedBuffers::data(uint16_t buffer_id, size_t length) const {
  return {storage_.data() + size_t{buffer_id} * size_, length};
}

void ProvidedBuffers::recycle(uint16_t buffer_id) {
  io_uring_buf_ring_add(buf_ring_, storage_.data() + size_t{buffer_id} * size_, size_, buffer_id,
                        io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
}

}  // namespace tlsgate::terminator
