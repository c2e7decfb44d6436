#include "icap/connection_budget.h"

#include <algorithm>

namespace tlsgate::icap {

bool ConnectionBudget::try_acquire() {
  unsigned held = held_.load(std::memory_order_relaxed);
  while (held < cap()) {
    if (held_.compare_exchange_weak(held, held + 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

void ConnectionBudget::release() {
  held_.fetch_sub(1, std::memory_order_relaxed);
}

void ConnectionBudget::set_service_limit(std::optional<unsigned> max_connections) {
  unsigned cap = configured_;
  if (max_connections && *max_connections > 0) cap = std::min(cap, *max_connections);
  cap_.store(cap, std::memory_order_relaxed);
}

}  // namespace tlsgate::icap
