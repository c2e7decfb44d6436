// One terminator worker: a thread with its own io_uring, its own listeners
// (SO_REUSEPORT) and the connections it accepted. Completions are dispatched
// by their tag to the connection's state machine; nothing is shared with the
// other workers except the read-mostly TerminatorContext.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "icap/icap_ring_client.h"
#include "terminator/connection.h"
#include "terminator/flow_snapshot.h"
#include "terminator/io_ring.h"
#include "terminator/terminator_context.h"
#include "terminator/worker_mailbox.h"

namespace tlsgate::terminator {

class Worker final : public ConnectionIo {
 public:
  Worker(unsigned index, const TerminatorContext& ctx, std::vector<UniqueFd> listeners);
  ~Worker() override;

  void start();
  // Asks the thread to end every flow and exit; join() waits for it.
  void request_stop();
  void join();

  const TerminatorCounters& counters() const { return counters_; }
  // Any thread: runs `task` on this worker's thread (dropped once it exited).
  void post_task(std::function<void()> task) { mailbox_->post_task(std::move(task)); }
  // The listening sockets (valid while the worker runs or until stop_accepting).
  std::vector<int> listener_fds() const;
  // Worker thread only (from a posted task): cancels the accepts and closes
  // the listeners; accepted flows go on.
  void stop_accepting();
  // Worker thread only (from a posted task): its live flows.
  std::vector<FlowSnapshot> snapshot_flows() const;
  // Worker thread only (from a posted task): its view of each ICAP service.
  std::vector<icap::ServiceState> icap_states() const;

  // ConnectionIo
  void recv(Connection& c, Side side, const __kernel_timespec& timeout, bool absolute) override;
  void send(Connection& c, Side side, std::span<const uint8_t> bytes,
            const __kernel_timespec& timeout) override;
  void connect(Connection& c, int fd, const sockaddr_storage& to, socklen_t len,
               const __kernel_timespec& timeout) override;
  void cancel_recv(Connection& c, Side side) override;
  void cancel_all(Connection& c, int fd) override;
  void poll(Connection& c, Side side, unsigned events, const __kernel_timespec& timeout) override;
  void timer(Connection& c, const __kernel_timespec& after) override;
  ConnectionWaker waker(Connection& c) override;

 private:
  void run();
  void arm_accept(size_t listener_index);
  void arm_wakeup();
  void on_cqe(const io_uring_cqe& cqe);
  void on_accept(size_t listener_index, const io_uring_cqe& cqe);
  void deliver_mail();
  void release_finished();
  io_uring_sqe* linked_pair(io_uring_sqe** timeout_sqe);

  unsigned index_;
  const TerminatorContext& ctx_;
  TerminatorCounters counters_;
  std::vector<UniqueFd> listeners_;
  std::shared_ptr<WorkerMailbox> mailbox_;
  uint64_t wakeup_value_ = 0;
  uint64_t next_serial_ = 1;
  bool stopping_ = false;
  bool accepting_ = true;

  std::unique_ptr<IoRing> ring_;
  std::unique_ptr<ProvidedBuffers> buffers_;
  std::unique_ptr<icap::IcapRingClient> icap_;      // null: no [[icap]] services
  std::vector<std::unique_ptr<Connection>> slots_;  // indexed by Connection::slot()
  std::vector<uint32_t> free_slots_;
  // The client-limit lease of each slot's connection (empty without a limit).
  std::vector<ClientConnectionLimit::Lease> client_leases_;
  std::vector<uint32_t> maybe_finished_;
  std::thread thread_;
};

}  // namespace tlsgate::terminator
