// The ICAP client of one terminator worker (DESIGN.md §4a): every socket
// operation is an SQE on the worker's own io_uring, so a scan never blocks
// the worker. Per service it keeps the OPTIONS answer (refreshed after its
// Options-TTL while scans go on with the old one), the service's health
// (a dead service is probed with backoff, not asked per request), and a pool
// of persistent connections; min(max_connections, Max-Connections) caps the
// connections of all workers together (ConnectionBudget). Scans wait in a
// queue for a free connection; each has a deadline (`timeout`) covering the
// wait, the connect, the upload and the answer.
//
// Completions are tagged (id << 8) | tag_kind: the worker hands every CQE of
// that kind to on_completion(id, res). Worker thread only.
#pragma once

#include <liburing.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/unique_fd.h"
#include "config/icap_service.h"
#include "icap/connection_budget.h"
#include "icap/icap_options.h"
#include "icap/icap_request_writer.h"
#include "icap/icap_response_parser.h"
#include "icap/scan_verdict.h"
#include "icap/service_health.h"

namespace tlsgate::icap {

// A configured service with its address resolved once, off the workers.
// Copies share `budget`: give each worker's client a copy of the same
// targets and the cap holds for all of them (null: the client makes its own).
struct ServiceTarget {
  config::IcapServiceSettings settings;
  sockaddr_storage address{};
  socklen_t address_len = 0;
  std::shared_ptr<ConnectionBudget> budget;
};
// Resolves each service's host (getaddrinfo: call it at start or reload, on
// the main thread). Throws std::runtime_error naming the service.
std::vector<ServiceTarget> resolve_services(const std::vector<config::IcapServiceSettings>& s);

// One message to scan. `body` must stay valid until the scan's callback ran
// or the scan was cancelled.
struct ScanRequest {
  size_t service = 0;  // index into the client's services
  http::RequestHead request;
  std::optional<http::ResponseHead> response;  // RESPMOD
  std::string client_ip;
  std::span<const uint8_t> body;
};

// A service as `tlsgatectl status` shows it (one worker's view).
struct ServiceState {
  std::string name;
  bool up = true;
  std::optional<std::chrono::steady_clock::time_point> down_since;
  std::string istag;
  unsigned connections = 0;  // open, this worker's
  // All workers together (the shared budget, read at once, so exact where a
  // sum of the workers' views taken one after the other is not).
  unsigned gateway_connections = 0;
  unsigned max_connections = 0;  // for the whole gateway
  unsigned busy = 0;             // of which carrying a transaction
  size_t waiting = 0;            // scans queued for a connection
};

class IcapRingClient {
 public:
  using Clock = std::chrono::steady_clock;
  using Done = std::function<void(ScanOutcome)>;

  IcapRingClient(io_uring* ring, uint8_t tag_kind, std::vector<ServiceTarget> services);
  ~IcapRingClient();
  IcapRingClient(const IcapRingClient&) = delete;
  IcapRingClient& operator=(const IcapRingClient&) = delete;

  const std::vector<ServiceTarget>& services() const { return services_; }
  std::optional<size_t> service_index(std::string_view name) const;

  // Asks every service for its OPTIONS (the worker calls this once it runs).
  void start();

  // Starts a scan; `done` runs later, on this thread, exactly once unless
  // the scan is cancelled. An answer known at once (the service is down and
  // not due for a probe, the message cannot be written) is returned instead,
  // and `done` is dropped.
  struct Started {
    uint64_t id = 0;
    std::optional<ScanOutcome> immediate;
  };
  Started scan(ScanRequest request, Done done);
  // The scan's exchange ended: its callback never runs, its connection (if
  // it was on one) is closed, since its answer will never be read.
  void cancel(uint64_t id);

  void on_completion(uint32_t id, int res);

  std::vector<ServiceState> states() const;
  // Closes every connection; true once no operation is in flight (the
  // worker keeps reaping completions until then).
  bool shut_down();

 private:
  struct Conn;
  struct Job;
  struct Service;
  enum class Op : uint8_t { connect, send, recv, link_timeout, cancel, tick };

  uint64_t user_data(uint32_t slot, Op op) const;
  io_uring_sqe* linked_pair(io_uring_sqe** timeout_sqe);
  void arm_timeout(io_uring_sqe* sqe, Conn& c);
  void submit_connect(Conn& c);
  void submit_send(Conn& c);
  void submit_recv(Conn& c);
  void arm_tick();

  void pump(size_t service);
  enum class OpenRefused : uint8_t { no, budget, socket };
  Conn* open_connection(size_t service, OpenRefused* why);
  void set_starving(size_t service, bool starving);
  void give_back_idle(size_t service);
  void start_options(Conn& c);
  void start_job(Conn& c, Job& job);
  void on_connect(Conn& c, int res);
  void on_sent(Conn& c, int res);
  void on_received(Conn& c, int res);
  void on_response(Conn& c);
  void on_options_answer(Conn& c, IcapResponse&& r);
  void fail_connection(Conn& c, std::string why, bool timed_out);
  void close_connection(Conn& c);
  void release_if_done(Conn& c);
  void to_idle(Conn& c);
  void finish(uint64_t job_id, ScanOutcome outcome);
  void fail_waiting(size_t service, const std::string& why);
  void expire_waiting();
  void run_finished();

  io_uring* ring_;
  uint8_t tag_kind_;
  std::vector<ServiceTarget> services_;
  std::vector<std::unique_ptr<Service>> state_;
  std::vector<std::unique_ptr<Conn>> conns_;  // by slot
  std::vector<uint32_t> free_slots_;
  std::unordered_map<uint64_t, std::unique_ptr<Job>> jobs_;
  uint64_t next_job_ = 1;
  bool tick_armed_ = false;
  bool shutting_down_ = false;
  __kernel_timespec tick_ts_{};
  // Callbacks of finished scans, run after the client's state is settled
  // (a callback may start or cancel scans).
  std::vector<std::pair<Done, ScanOutcome>> finished_;
  bool running_finished_ = false;
};

}  // namespace tlsgate::icap
