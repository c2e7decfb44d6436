// Reads the [[threat_list]] array of tables of tlsgate.toml (DESIGN.md §4a):
// name, file, format. The files themselves are read by the daemon
// (threat/threat_lists.h), at start and on every reload.
#pragma once

#include <toml++/toml.h>

#include <string>
#include <vector>

#include "policy/threat_list_spec.h"

namespace tlsgate::config {

// `node` is the value of the top-level key "threat_list".
std::vector<policy::ThreatListSpec> read_threat_lists(const toml::node& node,
                                                      const std::string& source);

}  // namespace tlsgate::config
