// `tlsgatectl bypass add/del/list` is sugar over rules: a bypass is a rule
// with action "bypass" and the given matchers, named after them, added in
// first position so that it wins over every other rule.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tlsgate::ctl {

struct BypassMatch {
  std::vector<std::string> sni;
  std::vector<std::string> dst;
  std::vector<std::string> client;
  bool empty() const { return sni.empty() && dst.empty() && client.empty(); }
};

// "bypass-sni-bank.example", "bypass-client-10.0.0.0/8+dst-192.0.2.1".
std::string bypass_rule_name(const BypassMatch& match);

// The rules.add request for a bypass.
nlohmann::json bypass_add_request(const BypassMatch& match, const std::string& name,
                                  std::optional<size_t> position);

// Names of the bypass rules in a rules.list answer whose matchers are
// exactly `match` (as sets, after the normalization the daemon applies:
// lower-cased names, prefixes with their length) and that have no port.
std::vector<std::string> bypass_rules_matching(const nlohmann::json& rules_list,
                                               const BypassMatch& match);

}  // namespace tlsgate::ctl
