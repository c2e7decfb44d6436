// The rule model of DESIGN.md §4: ordered rules, first match wins.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"

namespace tlsgate::policy {

enum class Action { inspect, bypass, block };
std::string_view to_string(Action a);
std::optional<Action> parse_action(std::string_view text);

// An SNI matcher: exact "host.example" or wildcard "*.example" (any depth
// below, never the apex). Stored lower-cased, without a trailing dot.
struct SniPattern {
  std::string suffix;  // for "*.example": "example"; for exact: the name
  bool wildcard = false;
  // Parses a pattern; nullopt (with *error set) for "", "*", "a*.b", "*.", ...
  static std::optional<SniPattern> parse(std::string_view text, std::string* error);
  // ASCII case-insensitive; one trailing dot on the flow's name is ignored.
  bool matches(std::string_view normalized_sni) const;
  std::string to_string() const;  // as written in the config, normalized
};

struct Rule {
  std::string name;  // unique; "rule-<n>" when the config gives none
  Action action = Action::inspect;
  std::vector<SniPattern> sni;  // empty: any (a flow without SNI never matches a non-empty list)
  std::vector<Cidr> dst;        // empty: any
  std::vector<Cidr> client;     // empty: any
  std::vector<uint16_t> ports;  // empty: any intercept port
  int source_line = 0;          // line in the config file, for messages
};

struct RuleSet {
  std::vector<Rule> rules;
  Action default_action = Action::inspect;
};

// What is known about a flow when it is classified. `sni` is the normalized
// name from the ClientHello (nullopt: no SNI, or not yet read).
struct FlowFacts {
  IpAddress client;
  Endpoint server;
  std::optional<std::string> sni;
};

struct Verdict {
  Action action = Action::inspect;
  // Index into RuleSet::rules, or nullopt for the default action.
  std::optional<size_t> rule_index;
  std::string rule_name;  // "default" when no rule matched
};

}  // namespace tlsgate::policy
