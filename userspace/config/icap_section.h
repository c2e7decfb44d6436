// Reads the [[icap]] tables of tlsgate.toml (config/icap_service.h says
// what each key means).
#pragma once

#include <toml++/toml.h>

#include <string>
#include <vector>

#include "config/icap_service.h"

namespace tlsgate::config {

// Every [[icap]] table of the array `node`; throws ConfigError on a bad key
// or value, and on a repeated name.
std::vector<IcapServiceSettings> read_icap_services(const toml::node& node,
                                                    const std::string& source);

}  // namespace tlsgate::config
