// The terminator's listening sockets: bound to loopback (127.0.0.1 and ::1)
// on the listen port with IP_TRANSPARENT, so the TC program can bpf_sk_assign
// forwarded flows for any destination to them, and SO_REUSEPORT, so that each
// worker owns one. Loopback binding keeps them unreachable from the LAN.
#pragma once

#include <cstdint>
#include <vector>

#include "common/unique_fd.h"

namespace tlsgate::terminator {

// One IPv4 and one IPv6 listener (the latter skipped when the host has IPv6
// disabled). Throws std::runtime_error naming the failing call.
std::vector<UniqueFd> open_transparent_listeners(uint16_t port, int backlog = 4096);

}  // namespace tlsgate::terminator
