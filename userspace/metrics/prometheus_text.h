// Prometheus text exposition format 0.0.4: families with HELP and TYPE lines,
// then their samples, label values escaped.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace tlsgate::metrics {

struct Sample {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
  std::string suffix = {};  // histograms: "_bucket" (with an "le" label), "_sum", "_count"
};

struct MetricFamily {
  std::string name;  // [a-zA-Z_:][a-zA-Z0-9_:]*; counters end in _total
  std::string help;
  std::string type;  // "counter" | "gauge" | "histogram"
  std::vector<Sample> samples;
};

inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

// Families in the given order. Throws std::invalid_argument for a name that
// is not a valid metric or label name (a bug, not an input problem).
std::string render(const std::vector<MetricFamily>& families);

}  // namespace tlsgate::metrics
