#include "terminator/terminator.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <stdexcept>

#include "terminator/listener.h"

namespace tlsgate::terminator {

Terminator::Terminator(const TerminatorContext& ctx, std::vector<UniqueFd> inherited) : ctx_(ctx) {
  unsigned n = ctx.settings.workers == 0 ? 1 : ctx.settings.workers;
  std::vector<std::vector<UniqueFd>> listeners(n);
  for (size_t i = 0; i < inherited.size(); ++i) {
    listeners[i % n].push_back(std::move(inherited[i]));
  }
  for (unsigned i = 0; i < n; ++i) {
    if (listeners[i].empty()) listeners[i] = open_transparent_listeners(ctx.settings.listen_port);
    workers_.push_back(std::make_unique<Worker>(i, ctx_, std::move(listeners[i])));
  }
  heartbeat_ = std::make_unique<WorkerHeartbeat>(workers_.size());
}

std::vector<UniqueFd> Terminator::duplicate_listeners() const {
  std::vector<UniqueFd> out;
  for (const auto& w : workers_) {
    for (int fd : w->listener_fds()) {
      UniqueFd copy(fcntl(fd, F_DUPFD_CLOEXEC, 0));
      if (!copy) throw std::runtime_error(std::string("dup listener: ") + std::strerror(errno));
      out.push_back(std::move(copy));
    }
  }
  return out;
}

void Terminator::stop_accepting() {
  std::vector<std::future<void>> done;
  for (auto& w : workers_) {
    auto promise = std::make_shared<std::promise<void>>();
    done.push_back(promise->get_future());
    w->post_task([promise, worker = w.get()] {
      worker->stop_accepting();
      promise->set_value();
    });
  }
  // A worker that exited already accepts nothing (its task was dropped).
  for (auto& d : done) d.wait_for(std::chrono::seconds(2));
}

uint64_t Terminator::active_connections() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += w->counters().active.load(std::memory_order_relaxed);
  return n;
}

Terminator::~Terminator() {
  stop();
}

void Terminator::start() {
  for (auto& w : workers_) w->start();
}

void Terminator::stop() {
  for (auto& w : workers_) w->request_stop();
  for (auto& w : workers_) w->join();
}

bool Terminator::workers_answered_then_ping() {
  const bool answered = heartbeat_->all_answered();
  const uint64_t round = heartbeat_->next_round();
  for (size_t i = 0; i < workers_.size(); ++i) {
    workers_[i]->post_task([hb = heartbeat_.get(), i, round] { hb->answer(i, round); });
  }
  return answered;
}

FlowListing Terminator::flows(std::chrono::milliseconds wait) const {
  std::vector<std::future<std::vector<FlowSnapshot>>> answers;
  for (const auto& w : workers_) {
    auto promise = std::make_shared<std::promise<std::vector<FlowSnapshot>>>();
    answers.push_back(promise->get_future());
    // A dropped task (worker gone) breaks the promise: counted below.
    w->post_task([promise, worker = w.get()] { promise->set_value(worker->snapshot_flows()); });
  }
  FlowListing listing;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (auto& answer : answers) {
    if (answer.wait_until(deadline) != std::future_status::ready) {
      ++listing.workers_not_answering;
      continue;
    }
    try {
      auto flows = answer.get();
      listing.flows.insert(listing.flows.end(), flows.begin(), flows.end());
    } catch (const std::future_error&) {
      ++listing.workers_not_answering;
    }
  }
  return listing;
}

std::vector<icap::ServiceState> Terminator::icap_states(std::chrono::milliseconds wait) const {
  std::vector<std::future<std::vector<icap::ServiceState>>> answers;
  for (const auto& w : workers_) {
    auto promise = std::make_shared<std::promise<std::vector<icap::ServiceState>>>();
    answers.push_back(promise->get_future());
    w->post_task([promise, worker = w.get()] { promise->set_value(worker->icap_states()); });
  }
  std::vector<icap::ServiceState> out;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (auto& answer : answers) {
    if (answer.wait_until(deadline) != std::future_status::ready) continue;
    std::vector<icap::ServiceState> states;
    try {
      states = answer.get();
    } catch (const std::future_error&) {
      continue;
    }
    if (out.empty()) {
      out = std::move(states);
      continue;
    }
    for (size_t i = 0; i < out.size() && i < states.size(); ++i) {
      icap::ServiceState& sum = out[i];
      const icap::ServiceState& s = states[i];
      sum.up = sum.up && s.up;
      if (s.down_since && (!sum.down_since || *s.down_since < *sum.down_since)) {
        sum.down_since = s.down_since;
      }
      if (sum.istag.empty()) sum.istag = s.istag;
      sum.connections += s.connections;
      sum.gateway_connections = std::max(sum.gateway_connections, s.gateway_connections);
      sum.busy += s.busy;
      sum.waiting += s.waiting;
    }
  }
  return out;
}

std::map<std::string, uint64_t> Terminator::counters() const {
  std::map<std::string, uint64_t> out;
  for (const auto& w : workers_) {
    const TerminatorCounters& c = w->counters();
    auto add = [&](const char* name, const std::atomic<uint64_t>& v) {
      out[name] += v.load(std::memory_order_relaxed);
    };
    add("connections_accepted", c.accepted);
    add("connections_active", c.active);
    add("flows_inspected", c.inspected);
    add("flows_bypassed", c.bypassed);
    add("flows_blocked", c.blocked);
    add("client_hello_rejected", c.bad_client_hello);
    add("non_tls", c.non_tls);
    add("handshake_timeouts", c.handshake_timeouts);
    add("upstream_connect_failures", c.upstream_connect_failures);
    add("upstream_tls_failures", c.upstream_cert_failures);
    add("client_handshake_failures", c.client_handshake_failures);
    add("bypass_probe_failures", c.bypass_probe_failures);
    add("kernel_splices", c.kernel_splices);
    add("userspace_splices", c.userspace_splices);
    add("client_rejects", c.client_rejects);
    add("auto_bypassed", c.auto_bypassed);
    add("auto_bypass_retests", c.auto_bypass_retests);
    add("http_events", c.http_events);
    add("http_unparsed", c.http_unparsed);
    add("http_bad_requests", c.http_bad_requests);
    add("non_http_refused", c.non_http_refused);
    add("client_limit_refusals", c.client_limit_refusals);
    add("threat_blocked", c.threat_blocked);
  }
  return out;
}

}  // namespace tlsgate::terminator
