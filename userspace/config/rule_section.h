// Reads the [[rule]] array of tables of tlsgate.toml into ordered rules.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/rule.h"

namespace tlsgate::config {

// [groups]: named sets of client prefixes ("printers = [\"10.0.5.0/24\"]"),
// which a rule's `client` names as "@printers".
using ClientGroups = std::map<std::string, std::vector<Cidr>, std::less<>>;
ClientGroups read_client_groups(const toml::table& table, const std::string& source);

// `node` is the value of the top-level key "rule". Rules may only name
// intercept ports: a rule on any other port could never match. A `client`
// entry "@name" stands for every prefix of that group.
std::vector<policy::Rule> read_rules(const toml::node& node, const std::string& source,
                                     std::span<const uint16_t> intercept_ports,
                                     const ClientGroups& groups = {});

// Parses a rule's CIDR ("10.0.0.0/8", "2001:db8::/32" or a bare address);
// nullopt with *error saying what is wrong ("... has host bits set").
std::optional<Cidr> parse_rule_cidr(std::string_view text, std::string* error);

}  // namespace tlsgate::config
