// The policy routing that delivers steered packets to the terminator
// (DESIGN.md §2): for IPv4 and IPv6,
//   ip rule add fwmark M lookup T pref P
//   ip route add local default dev lo table T
// so that a packet marked by the TC program is routed to the local stack,
// where the socket bpf_sk_assign chose receives it.
#pragma once

#include <cstdint>

namespace tlsgate::kernel {

struct SteeringRouteSpec {
  uint32_t mark = 0;
  uint32_t table = 0;
  uint32_t rule_priority = 0;
};

// What add_steering_routes() created (false: it was there already, or the
// family is not available on this host).
struct SteeringRoutesAdded {
  bool rule_v4 = false;
  bool route_v4 = false;
  bool rule_v6 = false;
  bool route_v6 = false;
};

// Idempotent. Throws std::runtime_error naming the step and errno text. IPv6
// is skipped silently when the kernel has it disabled.
SteeringRoutesAdded add_steering_routes(const SteeringRouteSpec& spec);

// Deletes the rules and routes; with `only`, just those it marks as added.
// Idempotent: what is absent is skipped.
void delete_steering_routes(const SteeringRouteSpec& spec,
                            const SteeringRoutesAdded* only = nullptr);

}  // namespace tlsgate::kernel
