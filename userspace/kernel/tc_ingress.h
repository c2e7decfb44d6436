// The TC ingress hook of a LAN interface: a clsact qdisc with tlsgate's BPF
// filter at a fixed handle and priority, so that a restart replaces the
// filter in place and a cleanup finds it without any saved state.
#pragma once

#include <cstdint>
#include <string>

namespace tlsgate::kernel {

inline constexpr uint32_t kTcFilterHandle = 0x746c;
inline constexpr uint32_t kTcFilterPriority = 1;

// Creates clsact if missing and attaches (or replaces) tlsgate's filter.
// Throws std::runtime_error "attach tc ingress on <ifname>: <errno text>".
void attach_tc_ingress(const std::string& ifname, int prog_fd);

// Detaches tlsgate's filter, then deletes the clsact qdisc if no other filter
// is attached to it (ingress or egress). Returns false when the interface or
// the filter did not exist. Throws on other errors.
bool detach_tc_ingress(const std::string& ifname);

// Whether tlsgate's filter is attached on `ifname` (for status and tests).
bool tc_ingress_attached(const std::string& ifname);

}  // namespace tlsgate::kernel
