// The daemon's end of the control socket: one thread accepting connections
// on a unix socket, checking each peer (peer_access.h), reading request
// lines and answering each with what the handler returns. Requests are
// served one at a time, so handlers never run concurrently with each other.
#pragma once

#include <filesystem>
#include <functional>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/unique_fd.h"
#include "control/peer_access.h"

namespace tlsgate::control {

class ControlServer {
 public:
  // Returns the whole response (ok_response / error_response); an exception
  // becomes an error response with its message.
  using Handler =
      std::function<nlohmann::json(const nlohmann::json& request, const PeerCredentials& peer)>;

  // Binds `path` (mode 0660, group policy.admin_group when set), creating
  // its directory (0750) when missing, and replacing a stale socket left by
  // a crash. Throws std::runtime_error when a live daemon answers there or
  // the socket cannot be set up.
  ControlServer(std::filesystem::path path, AccessPolicy policy, Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  void start();
  // Stops accepting, ends the thread and removes the socket file. Idempotent.
  void stop();

  const std::filesystem::path& path() const { return path_; }

 private:
  void run();
  void serve(UniqueFd client);
  bool wait_readable(int fd, int timeout_ms) const;

  std::filesystem::path path_;
  AccessPolicy policy_;
  Handler handler_;
  UniqueFd listener_;
  UniqueFd stop_fd_;  // eventfd: written by stop()
  dev_t socket_dev_ = 0;
  ino_t socket_ino_ = 0;
  std::thread thread_;
};

}  // namespace tlsgate::control
