#include "icap/scan_event.h"

#include <nlohmann/json.hpp>

namespace tlsgate::icap {

nlohmann::json to_json(const ScanEvent& e) {
  nlohmann::json j = {
      {"service", e.service}, {"method", e.method}, {"url", e.url},
      {"client", e.client},   {"server", e.server}, {"verdict", to_string(e.verdict)},
      {"action", e.action},   {"bytes", e.bytes},   {"ms", e.ms},
  };
  if (!e.threat.empty()) j["threat"] = e.threat;
  if (!e.error.empty()) j["error"] = e.error;
  if (!e.istag.empty()) j["istag"] = e.istag;
  return j;
}

}  // namespace tlsgate::icap
