#include "ctl/bypass_rules.h"

#include <algorithm>
#include <set>

#include "common/ip_address.h"
#include "policy/rule.h"

namespace tlsgate::ctl {

namespace {

using nlohmann::json;

std::set<std::string> normalized_sni(const std::vector<std::string>& values) {
  std::set<std::string> out;
  for (const auto& v : values) {
    auto p = policy::SniPattern::parse(v, nullptr);
    out.insert(p ? p->to_string() : v);
  }
  return out;
}

std::set<std::string> normalized_cidrs(const std::vector<std::string>& values) {
  std::set<std::string> out;
  for (const auto& v : values) {
    auto c = Cidr::parse(v);
    out.insert(c ? c->to_string() : v);
  }
  return out;
}

std::set<std::string> strings_of(const json& rule, const char* key) {
  std::set<std::string> out;
  if (!rule.contains(key) || !rule[key].is_array()) return out;
  for (const auto& v : rule[key]) {
    if (v.is_string()) out.insert(v.get<std::string>());
  }
  return out;
}

void append(std::string& name, const char* kind, const std::vector<std::string>& values) {
  for (const auto& v : values) name += (name.empty() ? "" : "+") + std::string(kind) + "-" + v;
}

}  // namespace

std::string bypass_rule_name(const BypassMatch& match) {
  std::string name;
  append(name, "sni", match.sni);
  append(name, "dst", match.dst);
  append(name, "client", match.client);
  return "bypass-" + name;
}

json bypass_add_request(const BypassMatch& match, const std::string& name,
                        std::optional<size_t> position) {
  json rule = {{"name", name}, {"action", "bypass"}};
  if (!match.sni.empty()) rule["sni"] = match.sni;
  if (!match.dst.empty()) rule["dst"] = match.dst;
  if (!match.client.empty()) rule["client"] = match.client;
  json request = {{"command", "rules.add"}, {"rule", rule}};
  request["position"] = position.value_or(1);
  return request;
}

std::vector<std::string> bypass_rules_matching(const json& rules_list, const BypassMatch& match) {
  const auto sni = normalized_sni(match.sni);
  const auto dst = normalized_cidrs(match.dst);
  const auto client = normalized_cidrs(match.client);
  std::vector<std::string> names;
  for (const auto& rule : rules_list.value("rules", json::array())) {
    if (rule.value("action", std::string()) != "bypass") continue;
    if (rule.contains("port") && rule["port"].is_array() && !rule["port"].empty()) continue;
    if (strings_of(rule, "sni") == sni && strings_of(rule, "dst") == dst &&
        strings_of(rule, "client") == client) {
      names.push_back(rule.value("name", std::string()));
    }
  }
  return names;
}

}  // namespace tlsgate::ctl
