#include "terminator/terminator.h"

#include "terminator/listener.h"

namespace tlsgate::terminator {

Terminator::Terminator(const TerminatorContext& ctx) : ctx_(ctx) {
  unsigned n = ctx.settings.workers == 0 ? 1 : ctx.settings.workers;
  for (unsigned i = 0; i < n; ++i) {
    workers_.push_back(
        std::make_unique<Worker>(i, ctx_, open_transparent_listeners(ctx.settings.listen_port)));
  }
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
  }
  return out;
}

}  // namespace tlsgate::terminator
