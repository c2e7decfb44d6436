#include "policy/rule_identity.h"

namespace tlsgate::policy {
namespace {

void add_policy(std::string& out, const UntrustedCertPolicy& policy) {
  out += "untrusted:";
  out += to_string(policy.default_action);
  for (const auto& [error_class, action] : policy.per_class) {
    out += ',' + error_class + '=' + std::string(to_string(action));
  }
  out += '\n';
}

template <typename T>
void add_list(std::string& out, const char* key, const std::vector<T>& items) {
  out += key;
  for (const auto& item : items) out += ' ' + item.to_string();
  out += '\n';
}

}  // namespace

std::string rule_identity(const RuleSet& rules, const Verdict& verdict) {
  std::string out;
  if (!verdict.rule_index || *verdict.rule_index >= rules.rules.size()) {
    out = "default:" + std::string(to_string(rules.default_action)) + '\n';
    add_policy(out, rules.untrusted_server_cert);
    return out;
  }
  const Rule& rule = rules.rules[*verdict.rule_index];
  out = "rule:" + rule.name + '\n' + "action:" + std::string(to_string(rule.action)) + '\n';
  add_list(out, "sni:", rule.sni);
  add_list(out, "dst:", rule.dst);
  add_list(out, "client:", rule.client);
  out += "ports:";
  for (uint16_t port : rule.ports) out += ' ' + std::to_string(port);
  out += "\nca:" + rule.ca + '\n';
  // A rule without its own policy follows the rule set's.
  add_policy(
      out, rule.untrusted_server_cert ? *rule.untrusted_server_cert : rules.untrusted_server_cert);
  return out;
}

}  // namespace tlsgate::policy
