// `systemctl restart` without losing more than it must (DESIGN.md §8):
// systemd runs a restart as stop + start, and the stop's SIGTERM looks like
// any other. Asked over the system bus, systemd says whether the job queued
// for this process's unit is a restart; if so the daemon keeps the kernel
// side (pinned programs, flow table, learned map) as a crash would, and
// leaves its listening sockets in systemd's file-descriptor store
// (FileDescriptorStoreMax=), which systemd keeps across a restart and
// flushes on stop. The next start takes them back (sd_listen_fds_with_names)
// so that a connection waiting in their accept queue meanwhile is served
// rather than lost, and removes them from the store again: after a crash
// new flows must find no listener (fail_mode at once).
#pragma once

#include <vector>

#include "common/unique_fd.h"

namespace tlsgate::daemon {

// True when this process runs in a systemd unit whose queued job is a
// restart (systemctl restart / try-restart / reload-or-restart). False
// outside systemd, without a system bus, or when systemd does not answer
// within two seconds: the stop then removes everything, as a stop must.
bool systemd_restart_queued();

// Leaves copies of `listeners` in the unit's file-descriptor store, named
// "listener". False (nothing stored) when systemd refuses them, e.g. without
// FileDescriptorStoreMax= in the unit.
bool store_listeners_for_restart(const std::vector<UniqueFd>& listeners);

// The listening sockets a restart left in the store (empty when none), taken
// out of the environment and out of the store.
std::vector<UniqueFd> take_stored_listeners();

}  // namespace tlsgate::daemon
