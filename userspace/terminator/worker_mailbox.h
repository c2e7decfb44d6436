// Work handed to a worker thread from other threads (prober, revocation
// fetcher, control socket): posted with the target connection's slot and
// serial (or as a task for the worker itself), run on the worker thread when
// its eventfd completion arrives.
// Shared ownership lets a late poster outlive the worker safely: after
// close(), posts are dropped.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "common/unique_fd.h"

namespace tlsgate::terminator {

class Connection;

class WorkerMailbox {
 public:
  struct Letter {
    uint32_t slot;
    uint64_t serial;  // the connection it was meant for; a reused slot has another
    std::function<void(Connection&)> deliver;
  };

  WorkerMailbox();  // throws std::runtime_error when no eventfd can be made

  int eventfd() const { return fd_.get(); }
  // Any thread.
  void post(Letter letter);
  // Work for the worker itself, not tied to a connection (a watchdog ping,
  // a snapshot of its flows). Dropped, like letters, once the worker exits.
  void post_task(std::function<void()> task);
  void request_stop();
  bool stop_requested() const { return stop_.load(std::memory_order_acquire); }
  // Worker thread: the letters posted so far.
  std::vector<Letter> take();
  std::vector<std::function<void()>> take_tasks();
  // Worker thread, when it exits: later posts are dropped.
  void close();

 private:
  void wake();

  UniqueFd fd_;
  std::mutex mu_;
  std::vector<Letter> letters_;
  std::vector<std::function<void()>> tasks_;
  bool closed_ = false;
  std::atomic<bool> stop_{false};
};

// What another thread holds to reach one connection (copyable).
class ConnectionWaker {
 public:
  ConnectionWaker() = default;
  ConnectionWaker(std::shared_ptr<WorkerMailbox> box, uint32_t slot, uint64_t serial)
      : box_(std::move(box)), slot_(slot), serial_(serial) {}
  // Runs `fn` on the connection's worker thread, if the connection still exists.
  void post(std::function<void(Connection&)> fn) const {
    if (box_) box_->post({slot_, serial_, std::move(fn)});
  }

 private:
  std::shared_ptr<WorkerMailbox> box_;
  uint32_t slot_ = 0;
  uint64_t serial_ = 0;
};

}  // namespace tlsgate::terminator
