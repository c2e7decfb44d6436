// A bare io_uring event loop for the ICAP client tests: what a terminator
// worker does for the client's completions, without the worker.
#pragma once

#include <liburing.h>

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>

#include "icap/icap_ring_client.h"

namespace tlsgate::test_support {

class RingLoop {
 public:
  static constexpr uint8_t kTag = 0x7e;

  explicit RingLoop(std::vector<icap::ServiceTarget> services) {
    if (io_uring_queue_init(256, &ring_, 0) < 0) throw std::runtime_error("io_uring_queue_init");
    client_ = std::make_unique<icap::IcapRingClient>(&ring_, kTag, std::move(services));
  }
  ~RingLoop() {
    // Reap until the client has no operation in flight.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!client_->shut_down() && std::chrono::steady_clock::now() < until) once(50);
    client_.reset();
    io_uring_queue_exit(&ring_);
  }

  icap::IcapRingClient& client() { return *client_; }

  // Runs completions until `done()` or `limit` passes; true when done.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= until) return false;
      once(20);
    }
    return true;
  }

 private:
  void once(long ms) {
    __kernel_timespec ts{0, ms * 1'000'000};
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
      uint64_t data = cqe->user_data;
      int res = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);  // the client may submit from inside
      if ((data & 0xff) != kTag) throw std::runtime_error("completion with a foreign tag");
      client_->on_completion(static_cast<uint32_t>(data >> 8), res);
    }
  }

  io_uring ring_{};
  std::unique_ptr<icap::IcapRingClient> client_;
};

}  // namespace tlsgate::test_support
