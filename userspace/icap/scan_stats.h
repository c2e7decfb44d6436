// Prometheus counters of the ICAP filter (DESIGN.md §7): scans by service
// and verdict, and a latency histogram per service. Shared by the workers;
// relaxed atomics, one add per scan.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "icap/scan_verdict.h"
#include "metrics/prometheus_text.h"

namespace tlsgate::icap {

class ScanStats {
 public:
  explicit ScanStats(std::vector<std::string> services);

  // `service` indexes the names given at construction.
  void record(size_t service, Verdict verdict, std::chrono::microseconds took);
  uint64_t count(size_t service, Verdict verdict) const;

  // tlsgate_icap_scans_total{service,verdict} and
  // tlsgate_icap_scan_duration_seconds{service} (histogram).
  std::vector<metrics::MetricFamily> families() const;

  // Upper bounds of the latency buckets, in seconds (+Inf is implied).
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   10};

 private:
  static constexpr size_t kVerdicts = 5;
  struct PerService {
    std::array<std::atomic<uint64_t>, kVerdicts> verdicts{};
    std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets{};
    std::atomic<uint64_t> sum_us{0};
  };
  std::vector<std::string> names_;
  std::unique_ptr<PerService[]> per_service_;
};

}  // namespace tlsgate::icap
