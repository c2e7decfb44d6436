// `tlsgatectl threats` (DESIGN.md §4a): the loaded threat lists with their
// entry counts, load time, malformed lines and hits.
#include <ctime>

#include "daemon/gateway_control.h"

namespace tlsgate::daemon {

namespace {

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

}  // namespace

nlohmann::json GatewayControl::list_threats() {
  const auto lists = gateway_.threat_lists();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& list : lists->lists()) {
    nlohmann::json malformed = nlohmann::json::array();
    for (const auto& bad : list.malformed_lines) {
      malformed.push_back({{"line", bad.line}, {"problem", bad.problem}});
    }
    out.push_back({{"name", list.spec.name},
                   {"file", list.spec.file.string()},
                   {"format", policy::to_string(list.spec.format)},
                   {"entries", list.entries},
                   {"malformed", list.malformed},
                   {"malformed_lines", malformed},
                   {"loaded_at", rfc3339(list.loaded_at)},
                   {"load_ms", static_cast<double>(list.load_time.count()) / 1000.0},
                   {"sni_hits", list.counters->sni_hits.load()},
                   {"request_hits", list.counters->request_hits.load()}});
  }
  return {{"lists", out}, {"config_file", gateway_.config_path().string()}};
}

}  // namespace tlsgate::daemon
