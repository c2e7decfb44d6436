// Keeps the `sni_policy` hash map equal to the compiled bypassed names
// (policy::KernelRules::sni_bypass): stale names are deleted first, so that a
// large policy change never overflows the map on the way.
#pragma once

#include <span>

#include "policy/kernel_rule_compiler.h"

namespace tlsgate::kernel {

// Returns whether the map changed (a restart with the same rules finds them
// all in place). Throws std::runtime_error on failure.
bool sync_sni_policy(int map_fd, std::span<const policy::KernelSniEntry> entries);

}  // namespace tlsgate::kernel
