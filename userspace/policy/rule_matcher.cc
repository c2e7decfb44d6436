#include "policy/rule_matcher.h"

#include <algorithm>

namespace tlsgate::policy {

bool rule_matches(const Rule& rule, const FlowFacts& flow) {
  if (!rule.sni.empty()) {
    if (!flow.sni) return false;
    const std::string& sni = *flow.sni;
    if (std::none_of(rule.sni.begin(), rule.sni.end(),
                     [&](const SniPattern& p) { return p.matches(sni); })) {
      return false;
    }
  }
  if (!rule.dst.empty() && std::none_of(rule.dst.begin(), rule.dst.end(), [&](const Cidr& c) {
        return c.contains(flow.server.address);
      })) {
    return false;
  }
  if (!rule.client.empty() &&
      std::none_of(rule.client.begin(), rule.client.end(),
                   [&](const Cidr& c) { return c.contains(flow.client); })) {
    return false;
  }
  if (!rule.ports.empty() &&
      std::find(rule.ports.begin(), rule.ports.end(), flow.server.port) == rule.ports.end()) {
    return false;
  }
  return true;
}

Verdict match(const RuleSet& rules, const FlowFacts& flow) {
  for (size_t i = 0; i < rules.rules.size(); ++i) {
    const Rule& rule = rules.rules[i];
    if (!rule.has_request_matcher() && rule_matches(rule, flow)) {
      return Verdict{rule.action, i, rule.name};
    }
  }
  return Verdict{rules.default_action, std::nullopt, "default"};
}

}  // namespace tlsgate::policy
