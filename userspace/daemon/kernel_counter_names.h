// Names of the kernel's counters (enum tg_counter in tlsgate_abi.h), as the
// metrics endpoint and `tlsgatectl stats` show them.
#pragma once

#include <cstddef>
#include <string>

namespace tlsgate::daemon {

// "packets", "steered_flows", ...; "counter_<index>" for one not named here.
std::string kernel_counter_name(size_t index);

}  // namespace tlsgate::daemon
