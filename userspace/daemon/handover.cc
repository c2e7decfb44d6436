#include "daemon/handover.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace tlsgate::daemon {

namespace {

// SCM_RIGHTS carries at most 253 descriptors per message.
constexpr size_t kMaxListeners = 250;
constexpr size_t kMaxMessage = 4096;

[[noreturn]] void fail(const std::string& what, int err) {
  throw std::runtime_error("hand-over: " + what + ": " + std::strerror(err));
}

sockaddr_un address_of(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path) fail(path.string(), ENAMETOOLONG);
  std::memcpy(addr.sun_path, path.c_str(), path.native().size());
  return addr;
}

void send_message(int fd, const nlohmann::json& message, const std::vector<UniqueFd>& fds = {}) {
  const std::string text = message.dump();
  iovec iov{const_cast<char*>(text.data()), text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    for (size_t i = 0; i < fds.size(); ++i) {
      const int raw = fds[i].get();
      std::memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &raw, sizeof raw);
    }
  }
  if (sendmsg(fd, &msg, MSG_NOSIGNAL) < 0) fail("send", errno);
}

// Waits up to `wait` (negative: forever) for a message, or for `stop_fd`.
// nullopt: the peer closed, the wait ended, or stop was signalled.
std::optional<nlohmann::json> receive_message(int fd, std::vector<UniqueFd>* fds,
                                              std::chrono::milliseconds wait, int stop_fd = -1) {
  pollfd p[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
  const int n = poll(p, stop_fd >= 0 ? 2 : 1, static_cast<int>(wait.count()));
  if (n <= 0 || (stop_fd >= 0 && (p[1].revents & POLLIN))) return std::nullopt;
  char text[kMaxMessage];
  iovec iov{text, sizeof text};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxListeners));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  const ssize_t got = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  if (got <= 0) return std::nullopt;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int raw = -1;
      std::memcpy(&raw, CMSG_DATA(c) + i * sizeof(int), sizeof raw);
      UniqueFd owned(raw);  // closed unless the caller wants them
      if (fds != nullptr) fds->push_back(std::move(owned));
    }
  }
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) return std::nullopt;
  auto parsed =
      nlohmann::json::parse(std::string_view(text, static_cast<size_t>(got)), nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
  return parsed;
}

// The connecting process as the kernel saw it at connect(): its pid is the
// successor's, whatever the hello message claims.
std::optional<ucred> peer_credentials(int conn) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return std::nullopt;
  return cred;
}

}  // namespace

std::filesystem::path handover_socket_path(const std::filesystem::path& control_socket) {
  return control_socket.parent_path() / "handover.sock";
}

HandoverListener::HandoverListener(std::filesystem::path path, Callbacks callbacks)
    : path_(std::move(path)), callbacks_(std::move(callbacks)) {
  socket_ = UniqueFd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!socket_) fail("socket", errno);
  stop_ = UniqueFd(eventfd(0, EFD_CLOEXEC));
  if (!stop_) fail("eventfd", errno);
  sockaddr_un addr = address_of(path_);
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
    fail("remove stale " + path_.string(), errno);
  if (::bind(socket_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    fail("bind " + path_.string(), errno);
  }
  if (::chmod(path_.c_str(), 0600) != 0) fail("chmod " + path_.string(), errno);
  if (::listen(socket_.get(), 2) != 0) fail("listen", errno);
  thread_ = std::thread([this] { run(); });
}

HandoverListener::~HandoverListener() {
  const uint64_t one = 1;
  if (::write(stop_.get(), &one, sizeof one) < 0) {
    std::perror("tlsgated: hand-over stop");
  }
  if (thread_.joinable()) thread_.join();
}

void HandoverListener::run() {
  while (true) {
    pollfd p[2] = {{socket_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents & POLLIN) return;
    UniqueFd conn(accept4(socket_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) continue;
    const auto peer = peer_credentials(conn.get());
    if (!peer || (peer->uid != 0 && peer->uid != geteuid())) {
      std::fprintf(stderr, "tlsgated: hand-over refused to a peer of another user\n");
      continue;
    }
    try {
      if (serve(conn.get(), peer->pid)) {
        // The successor owns the path now (it binds its own listener there).
        socket_ = UniqueFd();
        return;
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tlsgated: %s; still serving\n", e.what());
    }
  }
}

bool HandoverListener::serve(int conn, pid_t successor) {
  auto hello = receive_message(conn, nullptr, std::chrono::seconds(5), stop_.get());
  if (!hello || !hello->contains("hello")) return false;
  const auto drain = std::chrono::milliseconds(hello->value("drain_timeout_ms", 300000));
  std::vector<UniqueFd> listeners = callbacks_.listeners();
  if (listeners.size() > kMaxListeners) listeners.resize(kMaxListeners);
  send_message(conn, {{"pid", ::getpid()}, {"listeners", listeners.size()}}, listeners);
  listeners.clear();
  std::fprintf(stderr, "tlsgated: pid %d is taking over\n", static_cast<int>(successor));
  // The successor builds its gateway meanwhile (seconds): no deadline here.
  auto go = receive_message(conn, nullptr, std::chrono::milliseconds(-1), stop_.get());
  if (!go || !go->value("take_over", false)) {
    std::fprintf(stderr, "tlsgated: pid %d did not take over; still serving\n",
                 static_cast<int>(successor));
    return false;
  }
  callbacks_.release(successor, drain);
  send_message(conn, {{"released", true}});
  auto serving = receive_message(conn, nullptr, std::chrono::milliseconds(-1), stop_.get());
  const bool ok = serving && serving->value("serving", false);
  successor_ = ok ? Successor::serving : Successor::failed;
  if (!ok) {
    std::fprintf(stderr, "tlsgated: pid %d failed after taking over\n",
                 static_cast<int>(successor));
  }
  return true;
}

std::unique_ptr<Predecessor> Predecessor::find(const std::filesystem::path& path,
                                               std::chrono::milliseconds drain_timeout) {
  UniqueFd conn(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!conn) fail("socket", errno);
  sockaddr_un addr = address_of(path);
  if (::connect(conn.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == ENOENT || errno == ECONNREFUSED) return nullptr;  // none running
    fail("connect " + path.string(), errno);
  }
  send_message(conn.get(), {{"hello", ::getpid()}, {"drain_timeout_ms", drain_timeout.count()}});
  std::vector<UniqueFd> listeners;
  auto answer = receive_message(conn.get(), &listeners, std::chrono::seconds(10));
  if (!answer || !answer->contains("pid")) fail("no answer from the running tlsgated", EPROTO);
  const size_t expected = answer->value("listeners", size_t{0});
  if (listeners.size() != expected) fail("listening sockets lost on the way", EPROTO);
  const pid_t pid = answer->value("pid", 0);
  return std::unique_ptr<Predecessor>(new Predecessor(std::move(conn), pid, std::move(listeners)));
}

void Predecessor::take_over(std::chrono::milliseconds wait) {
  send_message(conn_.get(), {{"take_over", true}});
  auto answer = receive_message(conn_.get(), nullptr, wait);
  if (!answer || !answer->value("released", false)) {
    fail("pid " + std::to_string(pid_) + " did not release", ETIMEDOUT);
  }
}

void Predecessor::confirm_serving() {
  send_message(conn_.get(), {{"serving", true}});
}

}  // namespace tlsgate::daemon
