#include "filters/threat_event.h"

#include <nlohmann/json.hpp>

namespace tlsgate::filters {

void report_threat(events::EventLog* events, const threat::ThreatLists& lists,
                   const threat::ThreatHit& hit, const ThreatSighting& seen) {
  if (hit.list < lists.lists().size()) {
    auto& counters = *lists.lists()[hit.list].counters;
    (seen.stage == "sni" ? counters.sni_hits : counters.request_hits)
        .fetch_add(1, std::memory_order_relaxed);
  }
  if (events == nullptr) return;
  nlohmann::json fields{
      {"stage", seen.stage},   {"list", hit.list_name}, {"entry", hit.entry},
      {"client", seen.client}, {"server", seen.server}, {"rule", seen.rule},
  };
  if (hit.list < lists.lists().size()) {
    fields["format"] = policy::to_string(lists.lists()[hit.list].spec.format);
  }
  if (seen.sni) fields["sni"] = *seen.sni;
  if (seen.url) fields["url"] = *seen.url;
  events->emit("threat", std::move(fields));
}

}  // namespace tlsgate::filters
