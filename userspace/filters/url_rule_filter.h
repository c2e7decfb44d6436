// The per-request rules (DESIGN.md §4a): rules with `url` or `method`
// matchers, in configuration order, first match wins. A matching "block"
// rule answers the block page naming the rule (HTTP/1.1 and h2 alike) and
// the upstream never sees the request; a matching "inspect" rule lets it
// through and ends the evaluation. A rule's flow matchers (sni, dst, client,
// port) are checked once per flow, when the filter is made.
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
  // `candidates`: indexes of `rules`' request rules whose flow matchers match the flow.
  UrlRuleFilter(std::shared_ptr<const policy::RuleSet> rules, std::vector<size_t> candidates)
      : rules_(std::move(rules)), candidates_(std::move(candidates)) {}
  std::string_view name() const override { return "url_rules"; }
  http::FilterStep on_request_head(http::FilterExchange& ex) override;

 private:
  std::shared_ptr<const policy::RuleSet> rules_;
  std::vector<size_t> candidates_;
};

class UrlRuleFilterFactory : public http::HttpFilterFactory {
 public:
  // `rules` outlives the factory (TerminatorContext::rules).
  explicit UrlRuleFilterFactory(const RuleSetSlot& rules) : rules_(rules) {}
  // Null when no request rule can match the flow. The flow keeps the rules
  // it was made with (as it keeps its verdict) until it ends.
  std::unique_ptr<http::HttpFilter> make(const http::FlowContext& flow) const override;

 private:
  const RuleSetSlot& rules_;
};

}  // namespace tlsgate::filters
