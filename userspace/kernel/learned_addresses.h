// The `learned` map (DESIGN.md §2): per server address and port, whether the
// terminator saw only bypassed names there (each proven by a probe) or also
// names it inspected or blocked. A MIXED entry is sticky for its lifetime: a
// bypass seen later does not turn it back to BYPASS_ONLY before it expires,
// so one inspected name keeps the address steered for a whole TTL.
#pragma once

#include <chrono>
#include <optional>

#include "common/ip_address.h"
#include "tlsgate_abi.h"

namespace tlsgate::kernel {

tg_learned_key learned_key(const Endpoint& server);

// CLOCK_MONOTONIC in ns, the clock of bpf_ktime_get_ns().
uint64_t monotonic_ns();

// Writes (or keeps) the entry for `server`. Throws std::runtime_error.
void learn_address(int map_fd, const Endpoint& server, tg_learned_verdict verdict,
                   std::chrono::seconds ttl);

// Forgets everything learned: what an address was learned to be depends on
// the rules it was learned under. Throws std::runtime_error.
void clear_learned(int map_fd);

// The live entry for `server`, if any.
std::optional<tg_learned_value> learned_entry(int map_fd, const Endpoint& server);

}  // namespace tlsgate::kernel
