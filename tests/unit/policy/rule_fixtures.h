// Compact construction of rules and flows for the policy tests.
#pragma once

#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>

#include "policy/rule.h"

namespace tlsgate::policy::testing {

inline IpAddress ip(std::string_view text) {
  auto a = IpAddress::parse(text);
  if (!a) throw std::invalid_argument("bad test address " + std::string(text));
  return *a;
}

inline Cidr cidr(std::string_view text) {
  auto c = Cidr::parse(text);
  if (!c) throw std::invalid_argument("bad test prefix " + std::string(text));
  return *c;
}

inline SniPattern sni(std::string_view text) {
  std::string error;
  auto p = SniPattern::parse(text, &error);
  if (!p) throw std::invalid_argument("bad test pattern: " + error);
  return *p;
}

struct RuleSpec {
  std::string name;
  Action action = Action::inspect;
  std::initializer_list<const char*> sni = {};
  std::initializer_list<const char*> dst = {};
  std::initializer_list<const char*> client = {};
  std::initializer_list<uint16_t> ports = {};
};

inline Rule make_rule(const RuleSpec& spec) {
  Rule r;
  r.name = spec.name;
  r.action = spec.action;
  for (const char* s : spec.sni) r.sni.push_back(sni(s));
  for (const char* c : spec.dst) r.dst.push_back(cidr(c));
  for (const char* c : spec.client) r.client.push_back(cidr(c));
  r.ports.assign(spec.ports.begin(), spec.ports.end());
  return r;
}

inline RuleSet make_rules(std::initializer_list<RuleSpec> specs,
                          Action default_action = Action::inspect) {
  RuleSet set;
  set.default_action = default_action;
  for (const auto& s : specs) set.rules.push_back(make_rule(s));
  return set;
}

inline FlowFacts flow(std::string_view client, std::string_view server, uint16_t port,
                      std::optional<std::string> sni_name) {
  return FlowFacts{ip(client), Endpoint{ip(server), port}, std::move(sni_name)};
}

}  // namespace tlsgate::policy::testing
