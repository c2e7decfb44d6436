// What a reload cannot change. tlsgated applies rules and [suggest] live; the
// other settings shape sockets, BPF programs and the TLS contexts built at
// start, so a reload that changes them says so instead of ignoring them.
#pragma once

#include <string>
#include <vector>

#include "config/gateway_config.h"

namespace tlsgate::config {

// "section.key" of every setting that differs between `running` and `next`
// and takes effect only at the next start, in file order.
std::vector<std::string> settings_needing_restart(const GatewayConfig& running,
                                                  const GatewayConfig& next);

}  // namespace tlsgate::config
