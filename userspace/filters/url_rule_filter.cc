#include "filters/url_rule_filter.h"

#include "filters/page_reply.h"
#include "pages/rule_block_page.h"
#include "policy/rule_matcher.h"
#include "policy/url_pattern.h"
#include "threat/threat_entry.h"

namespace tlsgate::filters {

void UrlRuleFilter::refresh() {
  auto now = slot_.load();
  if (now == rules_) return;
  rules_ = std::move(now);
  candidates_.clear();
  if (!rules_) return;
  for (size_t i = 0; i < rules_->rules.size(); ++i) {
    const policy::Rule& rule = rules_->rules[i];
    if (rule.has_request_matcher() && policy::rule_matches(rule, flow_)) candidates_.push_back(i);
  }
}

http::FilterStep UrlRuleFilter::on_request_head(http::FilterExchange& ex) {
  refresh();
  if (candidates_.empty()) return http::FilterStep::proceed();
  const http::RequestHead& request = ex.request();
  const std::string host = threat::authority_host(request.authority).value_or(std::string());
  for (size_t index : candidates_) {
    const policy::Rule& rule = rules_->rules[index];
    if (!policy::request_matches(rule, host, request.method, request.path)) continue;
    ex.note("url_rule", rule.name);
    if (rule.action != policy::Action::block) return http::FilterStep::proceed();
    return http::FilterStep::respond(
        page_reply(pages::render_rule_block_page(host.empty() ? request.authority : host, rule.name,
                                                 request.path),
                   "blocked", "rule:" + rule.name));
  }
  return http::FilterStep::proceed();
}

std::unique_ptr<http::HttpFilter> UrlRuleFilterFactory::make(const http::FlowContext& flow) const {
  policy::FlowFacts facts{flow.client.address, flow.server, std::nullopt};
  if (!flow.sni.empty()) facts.sni = flow.sni;
  return std::make_unique<UrlRuleFilter>(rules_, std::move(facts));
}

}  // namespace tlsgate::filters
