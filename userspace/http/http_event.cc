#include "http/http_event.h"

#include <string>

#include <nlohmann/json.hpp>

namespace tlsgate::http {

nlohmann::json to_json(const HttpEvent& e) {
  const Exchange& x = e.exchange;
  nlohmann::json j = {
      {"client", e.client},
      {"server", e.server},
      {"protocol", e.protocol},
      {"method", x.method},
      {"path", x.path},
      {"request_bytes", x.request_bytes},
      {"response_bytes", x.response_bytes},
      {"outcome", x.outcome.empty() ? std::string(to_string(x.end)) : x.outcome},
  };
  if (!x.detail.empty()) j["detail"] = x.detail;
  for (const auto& [key, value] : x.notes) {
    if (!j.contains(key)) j[key] = value;  // a note never hides a field of the event
  }
  if (e.sni) j["sni"] = *e.sni;
  if (!x.host.empty()) j["host"] = x.host;
  if (x.path_truncated) j["path_truncated"] = true;
  if (x.status) j["status"] = *x.status;
  if (x.stream_id != 0) j["stream"] = x.stream_id;
  return j;
}

}  // namespace tlsgate::http
