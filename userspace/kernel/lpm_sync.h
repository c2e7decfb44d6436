// Keeps one LPM trie (client_bypass_v4/v6, dst_bypass_v4/v6) equal to the
// compiled rules: stale prefixes are deleted first, so that a large policy
// change never overflows the map on the way.
#pragma once

#include <span>
#include <string>

#include "policy/kernel_rule_compiler.h"

namespace tlsgate::kernel {

// Makes the trie `map_fd` (struct tg_lpm_v4_key for AF_INET, tg_lpm_v6_key
// for AF_INET6) hold exactly the entries of `family` in `entries`. Throws
// std::runtime_error naming `map_name` on failure.
void sync_lpm_trie(int map_fd, const std::string& map_name, int family,
                   std::span<const policy::KernelBypassEntry> entries);

}  // namespace tlsgate::kernel
