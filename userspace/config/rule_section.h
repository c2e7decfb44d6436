// Reads the [[rule]] array of tables of tlsgate.toml into ordered rules.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/rule.h"

namespace tlsgate::config {

// `node` is the value of the top-level key "rule". Rules may only name
// intercept ports: a rule on any other port could never match.
std::vector<policy::Rule> read_rules(const toml::node& node, const std::string& source,
                                     std::span<const uint16_t> intercept_ports);

// Parses a rule's CIDR ("10.0.0.0/8", "2001:db8::/32" or a bare address);
// nullopt with *error saying what is wrong ("... has host bits set").
std::optional<Cidr> parse_rule_cidr(std::string_view text, std::string* error);

}  // namespace tlsgate::config
