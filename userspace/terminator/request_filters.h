// The per-request checks of inspected flows, as one ordered list of filter
// factories (DESIGN.md §4a, http/filter.h). Built once, shared by the
// workers; each inspected flow gets its own chain from it.
#pragma once

#include <memory>
#include <vector>

#include "events/event_log.h"
#include "filters/threat_filter.h"
#include "filters/url_rule_filter.h"
#include "http/exchange_run.h"
#include "http/filter.h"

namespace tlsgate::terminator {

class RequestFilters {
 public:
  // `rules` and `threat_lists` are the running ones (TerminatorContext),
  // which outlive the filters; `events` may be null. `icap`: the antivirus
  // step (icap/icap_filter.h), last in the chain; null: none.
  RequestFilters(const filters::RuleSetSlot& rules, const filters::ThreatListsSlot& threat_lists,
                 events::EventLog* events, std::unique_ptr<http::HttpFilterFactory> icap = nullptr);
  // The flow's filters in chain order (a factory may skip the flow).
  http::FilterChain make_chain(const http::FlowContext& flow) const;

 private:
  std::vector<std::unique_ptr<http::HttpFilterFactory>> factories_;
};

}  // namespace tlsgate::terminator
