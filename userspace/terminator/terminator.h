// The userspace data path: one Worker per core, each with its own listeners,
// io_uring and connections (DESIGN.md §3).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "terminator/terminator_context.h"
#include "terminator/worker.h"
#include "terminator/worker_heartbeat.h"

namespace tlsgate::terminator {

class Terminator {
 public:
  // Opens every worker's listeners (so that steering finds them as soon as the
  // kernel side is installed); throws std::runtime_error when it cannot.
  // `inherited`: the listeners of the process this one takes over from
  // (handover.h), shared out over the workers before any is opened anew —
  // a connection waiting in their accept queue is not lost.
  explicit Terminator(const TerminatorContext& ctx, std::vector<UniqueFd> inherited = {});
  ~Terminator();

  void start();
  void stop();  // ends every flow (flow events are written) and joins

  // Counter name -> value summed over workers.
  std::map<std::string, uint64_t> counters() const;

  // Watchdog thread: true when every worker answered the previous ping (the
  // first call: true); then pings every worker again.
  bool workers_answered_then_ping();
  // Copies of every worker's listeners, for a successor (handover.h).
  std::vector<UniqueFd> duplicate_listeners() const;
  // Any thread: the workers accept no more connections (their listeners are
  // closed here; a successor holding copies keeps them open). The flows
  // already accepted go on.
  void stop_accepting();
  // Flows not yet ended, over every worker.
  uint64_t active_connections() const;
  // Any thread: every worker's live flows. A worker that does not answer
  // within `wait` is counted in workers_not_answering instead.
  FlowListing flows(std::chrono::milliseconds wait) const;
  size_t worker_count() const { return workers_.size(); }
  // Any thread: each ICAP service as the workers see it, summed (up only
  // when every answering worker has it up; down since the earliest).
  std::vector<icap::ServiceState> icap_states(std::chrono::milliseconds wait) const;

 private:
  const TerminatorContext& ctx_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<WorkerHeartbeat> heartbeat_;
};

}  // namespace tlsgate::terminator
