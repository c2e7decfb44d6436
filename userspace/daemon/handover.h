// Hitless restart by hand-over (DESIGN.md §8, as HAProxy's seamless reload
// and Envoy's hot restart do it): a new tlsgated finds the running one on a
// unix socket next to the control socket and takes over from it.
//
//   new  -> old   hello {pid, drain_timeout_ms}
//   old  -> new   the terminator's listening sockets (SCM_RIGHTS)
//   new           installs its kernel side over the old one's (same pinned
//                 maps: flow table and learned map are kept; the TC filter is
//                 replaced in place)
//   new  -> old   take_over
//   old           stops accepting, gives up the NFQUEUE queue, the control
//                 socket, the metrics and CA distribution ports
//   old  -> new   released
//   new           binds those
//   new  -> old   serving
//   old           drains the flows it still carries (up to the new one's
//                 drain_timeout) and exits without touching the kernel side.
//
// A successor that fails before take_over leaves the old process serving as
// before; one that fails after it (no `serving`) makes the old process exit
// with a failure at once, so that systemd restarts the unit (the kernel side
// meanwhile applies fail_mode). Only a peer with the daemon's own uid (or
// root) is answered; its pid is taken from the kernel (SO_PEERCRED), so that
// the old process can tell systemd which process is the main one now.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "common/unique_fd.h"

namespace tlsgate::daemon {

// The hand-over socket of a daemon whose control socket is `control_socket`.
std::filesystem::path handover_socket_path(const std::filesystem::path& control_socket);

// The running daemon's side: answers one successor, on its own thread.
class HandoverListener {
 public:
  struct Callbacks {
    // Copies of the listening sockets to give the successor.
    std::function<std::vector<UniqueFd>()> listeners;
    // The successor is ready: stop accepting and give up the shared
    // resources. `successor` is the peer's pid as the kernel reports it
    // (SO_PEERCRED). Runs on the listener's thread; the reply waits for it.
    std::function<void(pid_t successor, std::chrono::milliseconds drain_timeout)> release;
  };
  // Binds `path` (replacing a stale socket file); throws std::runtime_error.
  HandoverListener(std::filesystem::path path, Callbacks callbacks);
  ~HandoverListener();
  HandoverListener(const HandoverListener&) = delete;
  HandoverListener& operator=(const HandoverListener&) = delete;

  // After release: did the successor report serving, or go away without?
  enum class Successor { pending, serving, failed };
  Successor successor() const { return successor_.load(); }

 private:
  void run();
  bool serve(int conn, pid_t successor);  // true once released

  std::filesystem::path path_;
  Callbacks callbacks_;
  UniqueFd socket_;
  UniqueFd stop_;  // eventfd
  std::atomic<Successor> successor_{Successor::pending};
  std::thread thread_;
};

// The new daemon's side.
class Predecessor {
 public:
  // Connects to the daemon listening on `path`; null when none answers (no
  // socket file, or one left by a crashed daemon). Throws std::runtime_error
  // when one answers but the exchange fails.
  static std::unique_ptr<Predecessor> find(const std::filesystem::path& path,
                                           std::chrono::milliseconds drain_timeout);
  pid_t pid() const { return pid_; }
  // The predecessor's listening sockets (once).
  std::vector<UniqueFd> take_listeners() { return std::move(listeners_); }
  // Our kernel side is installed: the predecessor stops accepting and
  // releases what only one process can hold. Throws std::runtime_error when
  // it does not confirm within `wait`.
  void take_over(std::chrono::milliseconds wait = std::chrono::seconds(10));
  // Everything is bound: the predecessor may drain and go.
  void confirm_serving();

 private:
  Predecessor(UniqueFd conn, pid_t pid, std::vector<UniqueFd> listeners)
      : conn_(std::move(conn)), pid_(pid), listeners_(std::move(listeners)) {}
  UniqueFd conn_;
  pid_t pid_;
  std::vector<UniqueFd> listeners_;
};

}  // namespace tlsgate::daemon
