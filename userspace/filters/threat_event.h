// The `threat` event (DESIGN.md §4a, §7): a threat list matched a flow's SNI
// at classification (stage "sni") or a request's host or URL (stage
// "request"). Also counts the hit on the list.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "events/event_log.h"
#include "threat/threat_lists.h"

namespace tlsgate::filters {

struct ThreatSighting {
  std::string_view stage;  // "sni" | "request"
  std::string client;      // "10.0.0.5:51234"
  std::string server;      // the original destination
  std::optional<std::string> sni;
  std::optional<std::string> url;  // requests only: "https://host/path"
  std::string rule;                // the flow's rule
};

// Counts the hit on its list and writes the event (events may be null).
void report_threat(events::EventLog* events, const threat::ThreatLists& lists,
                   const threat::ThreatHit& hit, const ThreatSighting& seen);

}  // namespace tlsgate::filters
