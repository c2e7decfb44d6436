// How many connections the whole gateway holds to one ICAP service
// (DESIGN.md §4a): at most min(max_connections, the service's
// Max-Connections), all workers together. One budget per service, shared by
// the workers' clients: a worker takes a place before it opens a connection
// and gives it back when the connection closes. A worker whose scans wait
// because the budget is spent says so (starving); the others then close
// their idle connections instead of keeping them, so the places move to
// where the scans are. Lock-free; any thread.
#pragma once

#include <atomic>
#include <optional>

namespace tlsgate::icap {

class ConnectionBudget {
 public:
  explicit ConnectionBudget(unsigned configured) : configured_(configured), cap_(configured) {}
  ConnectionBudget(const ConnectionBudget&) = delete;
  ConnectionBudget& operator=(const ConnectionBudget&) = delete;

  // A place for one more connection, or false when the cap is reached.
  bool try_acquire();
  void release();
  // The service's OPTIONS Max-Connections (nullopt: none sent) lowers the
  // configured cap; connections already open above a lowered cap close as
  // they finish (no new ones open until below it).
  void set_service_limit(std::optional<unsigned> max_connections);

  unsigned cap() const { return cap_.load(std::memory_order_relaxed); }
  unsigned held() const { return held_.load(std::memory_order_relaxed); }

  void add_starving() { starving_.fetch_add(1, std::memory_order_relaxed); }
  void remove_starving() { starving_.fetch_sub(1, std::memory_order_relaxed); }
  // Is a worker other than the caller (which is `self_starving` or not)
  // waiting for a place?
  bool others_starving(bool self_starving) const {
    return starving_.load(std::memory_order_relaxed) > (self_starving ? 1u : 0u);
  }

 private:
  const unsigned configured_;
  std::atomic<unsigned> cap_;
  std::atomic<unsigned> held_{0};
  std::atomic<unsigned> starving_{0};
};

}  // namespace tlsgate::icap
