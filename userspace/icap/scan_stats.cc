#include "icap/scan_stats.h"

namespace tlsgate::icap {

namespace {

constexpr Verdict kAll[] = {Verdict::clean, Verdict::infected, Verdict::modified, Verdict::error,
                            Verdict::oversize};

}  // namespace

ScanStats::ScanStats(std::vector<std::string> services)
    : names_(std::move(services)), per_service_(std::make_unique<PerService[]>(names_.size())) {}

void ScanStats::record(size_t service, Verdict verdict, std::chrono::microseconds took) {
  if (service >= names_.size()) return;
  PerService& s = per_service_[service];
  s.verdicts[static_cast<size_t>(verdict)].fetch_add(1, std::memory_order_relaxed);
  if (verdict == Verdict::oversize) return;  // not scanned: no latency
  double seconds = static_cast<double>(took.count()) / 1e6;
  size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
  s.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  s.sum_us.fetch_add(static_cast<uint64_t>(took.count()), std::memory_order_relaxed);
}

uint64_t ScanStats::count(size_t service, Verdict verdict) const {
  if (service >= names_.size()) return 0;
  return per_service_[service].verdicts[static_cast<size_t>(verdict)].load(
      std::memory_order_relaxed);
}

std::vector<metrics::MetricFamily> ScanStats::families() const {
  metrics::MetricFamily scans{"tlsgate_icap_scans_total",
                              "Messages scanned over ICAP, by service and verdict",
                              "counter",
                              {}};
  metrics::MetricFamily latency{"tlsgate_icap_scan_duration_seconds",
                                "Time from handing a message to an ICAP service to its answer",
                                "histogram",
                                {}};
  for (size_t i = 0; i < names_.size(); ++i) {
    const PerService& s = per_service_[i];
    for (Verdict v : kAll) {
      scans.samples.push_back(
          {{{"service", names_[i]}, {"verdict", to_string(v)}},
           static_cast<double>(s.verdicts[static_cast<size_t>(v)].load(std::memory_order_relaxed)),
           ""});
    }
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += s.buckets[b].load(std::memory_order_relaxed);
      char le[32];
      if (b < kBuckets.size()) {
        std::snprintf(le, sizeof le, "%g", kBuckets[b]);
      } else {
        std::snprintf(le, sizeof le, "+Inf");
      }
      latency.samples.push_back(
          {{{"service", names_[i]}, {"le", le}}, static_cast<double>(cumulative), "_bucket"});
    }
    latency.samples.push_back({{{"service", names_[i]}},
                               static_cast<double>(s.sum_us.load(std::memory_order_relaxed)) / 1e6,
                               "_sum"});
    latency.samples.push_back(
        {{{"service", names_[i]}}, static_cast<double>(cumulative), "_count"});
  }
  return {std::move(scans), std::move(latency)};
}

}  // namespace tlsgate::icap
