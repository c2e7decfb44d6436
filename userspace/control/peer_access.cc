#include "control/peer_access.h"

#include <grp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tlsgate::control {

bool peer_allowed(const PeerCredentials& peer, const AccessPolicy& policy) {
  if (peer.uid == 0 || peer.uid == policy.daemon_uid) return true;
  if (!policy.admin_group) return false;
  const gid_t admins = *policy.admin_group;
  return peer.gid == admins ||
         std::find(peer.groups.begin(), peer.groups.end(), admins) != peer.groups.end();
}

PeerCredentials peer_credentials(int socket_fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    throw std::runtime_error(std::string("SO_PEERCRED: ") + std::strerror(errno));
  }
  PeerCredentials peer{cred.pid, cred.uid, cred.gid, {}};
  std::vector<gid_t> groups(64);
  while (true) {
    socklen_t size = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &size) == 0) {
      groups.resize(size / sizeof(gid_t));
      break;
    }
    // ERANGE: `size` now says how much room the list needs.
    if (errno != ERANGE || size / sizeof(gid_t) <= groups.size()) {
      throw std::runtime_error(std::string("SO_PEERGROUPS: ") + std::strerror(errno));
    }
    groups.resize(size / sizeof(gid_t));
  }
  peer.groups = std::move(groups);
  return peer;
}

std::optional<gid_t> group_id(const std::string& name) {
  std::vector<char> buffer(16384);
  group entry{};
  group* found = nullptr;
  while (true) {
    const int err = ::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (err == ERANGE && buffer.size() < (1u << 22)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (err != 0 || found == nullptr) return std::nullopt;
    return found->gr_gid;
  }
}

}  // namespace tlsgate::control
