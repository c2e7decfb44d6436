#include "icap/service_health.h"

#include <algorithm>

namespace tlsgate::icap {

bool ServiceHealth::may_try(Clock::time_point now) {
  if (!down_since_) return true;
  if (now < next_probe_) return false;
  // One attempt per period: a probe that never reports (its scan was
  // cancelled) only delays the next one by a period.
  probing_ = true;
  next_probe_ = now + backoff_;
  return true;
}

void ServiceHealth::on_success() {
  down_since_.reset();
  probing_ = false;
  backoff_ = initial_;
}

void ServiceHealth::on_failure(Clock::time_point now) {
  if (!down_since_) {
    down_since_ = now;
    backoff_ = initial_;
    next_probe_ = now + backoff_;
  } else if (probing_) {
    // The probe failed: wait longer. Failures of scans that were already
    // under way when the service went down do not count.
    backoff_ = std::min(backoff_ * 2, max_);
    next_probe_ = now + backoff_;
  }
  probing_ = false;
}

}  // namespace tlsgate::icap
