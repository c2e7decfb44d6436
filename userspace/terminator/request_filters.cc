// What happens to a request on an inspected flow: the filters below, in this
// order, each able to let it go on, answer it locally or hold it (the chain
// runner is http/exchange_run.h). To add a check, add its factory here.
#include "terminator/request_filters.h"

#include "filters/threat_filter.h"
#include "filters/url_rule_filter.h"
#include "http/authority_filter.h"

namespace tlsgate::terminator {

RequestFilters::RequestFilters(const filters::RuleSetSlot& rules,
                               const filters::ThreatListsSlot& threat_lists,
                               events::EventLog* events,
                               std::unique_ptr<http::HttpFilterFactory> icap) {
  // 1. Host / :authority names the flow's SNI (or upstream certificate), else 421.
  factories_.push_back(std::make_unique<http::AuthorityFilterFactory>());
  // 2. Rules with `url` / `method`, in order, first match wins: "block"
  //    answers the block page naming the rule, "inspect" lets the request on.
  factories_.push_back(std::make_unique<filters::UrlRuleFilterFactory>(rules));
  // 3. Threat lists: the request's host (domains, hosts) and URL (urls);
  //    a hit answers the threat page naming the list and is a `threat` event.
  factories_.push_back(std::make_unique<filters::ThreatFilterFactory>(threat_lists, events));
  // 4. ICAP: bodies held until the antivirus service answered (last, so that
  //    nothing the other filters refuse is ever scanned).
  if (icap) factories_.push_back(std::move(icap));
}

http::FilterChain RequestFilters::make_chain(const http::FlowContext& flow) const {
  http::FilterChain chain;
  chain.reserve(factories_.size());
  for (const auto& factory : factories_) {
    if (auto filter = factory->make(flow)) chain.push_back(std::move(filter));
  }
  return chain;
}

}  // namespace tlsgate::terminator
