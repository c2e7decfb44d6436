// Whether a service is worth asking (RFC 3507 leaves this to the client;
// Squid marks a failing service down for a while): after a failure the
// service is down and only one probe goes out per backoff period, doubling
// from `initial` to `max`, so a dead service costs one attempt per period,
// not one per request. Per worker, no locks.
#pragma once

#include <chrono>
#include <optional>

namespace tlsgate::icap {

class ServiceHealth {
 public:
  using Clock = std::chrono::steady_clock;
  ServiceHealth(std::chrono::milliseconds initial = std::chrono::seconds(1),
                std::chrono::milliseconds max = std::chrono::seconds(60))
      : initial_(initial), max_(max), backoff_(initial) {}

  bool up() const { return !down_since_; }
  std::optional<Clock::time_point> down_since() const { return down_since_; }
  // May a scan go to the service now? Down: one probe per backoff period.
  bool may_try(Clock::time_point now);
  void on_success();
  void on_failure(Clock::time_point now);
  Clock::time_point next_probe() const { return next_probe_; }
  std::chrono::milliseconds backoff() const { return backoff_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds backoff_;
  std::optional<Clock::time_point> down_since_;
  Clock::time_point next_probe_{};
  bool probing_ = false;
};

}  // namespace tlsgate::icap
