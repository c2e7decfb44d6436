// The per-request rules (DESIGN.md §4a): rules with `url` or `method`
// matchers, in configuration order, first match wins. A matching "block"
// rule answers the block page naming the rule (HTTP/1.1 and h2 alike) and
// the upstream never sees the request; a matching "inspect" rule lets it
// through and ends the evaluation. Each request is judged by the rules in
// force at that moment, so a reload applies to connections already open; a
// rule's flow matchers (sni, dst, client, port) are checked once per flow and
// rule set, when the filter first meets that set.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "http/filter.h"
#include "policy/rule.h"

namespace tlsgate::filters {

using RuleSetSlot = std::atomic<std::shared_ptr<const policy::RuleSet>>;

class UrlRuleFilter : public http::HttpFilter {
 public:
  // `slot` outlives the filter (TerminatorContext::rules).
  UrlRuleFilter(const RuleSetSlot& slot, policy::FlowFacts flow)
      : slot_(slot), flow_(std::move(flow)) {}
  std::string_view name() const override { return "url_rules"; }
  http::FilterStep on_request_head(http::FilterExchange& ex) override;

 private:
  // Follows the slot: the rule set in force and its candidates for this flow.
  void refresh();

  const RuleSetSlot& slot_;
  policy::FlowFacts flow_;
  std::shared_ptr<const policy::RuleSet> rules_;  // the set candidates_ index
  std::vector<size_t> candidates_;  // request rules whose flow matchers match the flow
};

class UrlRuleFilterFactory : public http::HttpFilterFactory {
 public:
  // `rules` outlives the factory (TerminatorContext::rules).
  explicit UrlRuleFilterFactory(const RuleSetSlot& rules) : rules_(rules) {}
  // Made for every flow, even while no request rule exists: a reload that
  // adds one applies to connections already open.
  std::unique_ptr<http::HttpFilter> make(const http::FlowContext& flow) const override;

 private:
  const RuleSetSlot& rules_;
};

}  // namespace tlsgate::filters
