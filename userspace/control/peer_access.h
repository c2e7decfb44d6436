// Who may use the control socket: root, the daemon's own user and members
// of the tlsgate group (primary or supplementary), checked on every
// connection from the kernel's view of the peer (SO_PEERCRED and
// SO_PEERGROUPS), on top of the socket file's mode 0660.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace tlsgate::control {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary
};

struct AccessPolicy {
  uid_t daemon_uid = 0;
  std::optional<gid_t> admin_group;  // the tlsgate group, when it exists
};

bool peer_allowed(const PeerCredentials& peer, const AccessPolicy& policy);

// Throws std::runtime_error when the kernel does not say.
PeerCredentials peer_credentials(int socket_fd);

// The gid of `name`, nullopt when there is no such group.
std::optional<gid_t> group_id(const std::string& name);

}  // namespace tlsgate::control
