// Reads [ca] (DESIGN.md §6) and checks the CA a [[rule]] names:
//   [ca]
//   distribution_listen = ["10.0.0.1:80", "[fd00::1]:80", "eth1:80"]
//   retire_after = "30d"     # "<n>d" or a duration up to 24h
//   fallback_retry = "1h"
#pragma once

#include <string>
#include <string_view>

#include "common/ca_name.h"
#include "config/gateway_config.h"
#include "config/section_reader.h"

namespace tlsgate::config {

void read_ca_section(const SectionReader& r, CaSettings& out);

using tlsgate::valid_ca_name;  // common/ca_name.h

// "10.0.0.1:80", "[fd00::1]:80" or "eth1:80"; nullopt with *error set.
std::optional<DistributionListen> parse_distribution_listen(std::string_view text,
                                                            std::string* error);

}  // namespace tlsgate::config
