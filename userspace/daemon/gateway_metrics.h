// The gateway's metrics in Prometheus text format (DESIGN.md §7): flows by
// verdict, errors by class, every terminator counter, the forged-certificate
// cache, the kernel's counters read from the BPF maps, lost events, and the
// control socket's reloads and rule edits.
#pragma once

#include <string>

#include "daemon/gateway.h"
#include "daemon/gateway_control.h"

namespace tlsgate::daemon {

std::string render_metrics(const Gateway& gateway, const ControlCounters& control);

}  // namespace tlsgate::daemon
