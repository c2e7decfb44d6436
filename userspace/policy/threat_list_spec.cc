#include "policy/threat_list_spec.h"

namespace tlsgate::policy {

std::string_view to_string(ThreatListFormat format) {
  switch (format) {
    case ThreatListFormat::domains:
      return "domains";
    case ThreatListFormat::hosts:
      return "hosts";
    case ThreatListFormat::urls:
      return "urls";
  }
  return "domains";
}

std::optional<ThreatListFormat> parse_threat_list_format(std::string_view text) {
  for (auto f : {ThreatListFormat::domains, ThreatListFormat::hosts, ThreatListFormat::urls}) {
    if (text == to_string(f)) return f;
  }
  return std::nullopt;
}

}  // namespace tlsgate::policy
