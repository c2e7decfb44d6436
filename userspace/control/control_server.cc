#include "control/control_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "control/control_protocol.h"

namespace tlsgate::control {

namespace {

constexpr int kIdleTimeoutMs = 30000;  // an idle connection is closed
constexpr timeval kIoTimeout{5, 0};    // one request or answer must move within this

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

sockaddr_un unix_address(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string text = path.string();
  if (text.size() >= sizeof addr.sun_path) {
    throw std::runtime_error("control socket path is too long: " + text);
  }
  std::memcpy(addr.sun_path, text.c_str(), text.size() + 1);
  return addr;
}

// A socket left by a crashed daemon is removed; a live one is not stolen.
void clear_stale_socket(const std::filesystem::path& path, const sockaddr_un& addr) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    fail("stat " + path.string());
  }
  if (!S_ISSOCK(st.st_mode)) {
    throw std::runtime_error(path.string() + " exists and is not a socket");
  }
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe) fail("socket");
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    throw std::runtime_error("another tlsgated answers on " + path.string());
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail("remove stale " + path.string());
}

void create_directory(const std::filesystem::path& dir, const AccessPolicy& policy) {
  if (dir.empty() || ::mkdir(dir.c_str(), 0750) != 0) {
    if (errno == EEXIST) return;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);  // several levels missing
    if (ec) throw std::runtime_error("create " + dir.string() + ": " + ec.message());
    return;
  }
  ::chmod(dir.c_str(), 0750);  // whatever the umask
  if (policy.admin_group && ::chown(dir.c_str(), static_cast<uid_t>(-1), *policy.admin_group)) {
    fail("chgrp " + dir.string());
  }
}

}  // namespace

ControlServer::ControlServer(std::filesystem::path path, AccessPolicy policy, Handler handler)
    : path_(std::move(path)),
      policy_(policy),
      handler_(std::move(handler)),
      stop_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!stop_fd_) fail("eventfd");
  const sockaddr_un addr = unix_address(path_);
  create_directory(path_.parent_path(), policy_);
  clear_stale_socket(path_, addr);
  listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener_) fail("socket");
  if (::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    fail("bind " + path_.string());
  }
  struct stat st {};
  if (::chmod(path_.c_str(), 0660) != 0) fail("chmod " + path_.string());
  if (policy_.admin_group && ::chown(path_.c_str(), static_cast<uid_t>(-1), *policy_.admin_group)) {
    fail("chgrp " + path_.string());
  }
  if (::stat(path_.c_str(), &st) != 0) fail("stat " + path_.string());
  socket_dev_ = st.st_dev;
  socket_ino_ = st.st_ino;
  if (::listen(listener_.get(), 16) != 0) fail("listen " + path_.string());
}

ControlServer::~ControlServer() {
  stop();
}

void ControlServer::start() {
  thread_ = std::thread([this] { run(); });
}

void ControlServer::stop() {
  if (!listener_) return;
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(stop_fd_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  // Only our own socket: a newer daemon may have replaced it.
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == socket_dev_ && st.st_ino == socket_ino_) {
    ::unlink(path_.c_str());
  }
  listener_.reset();
}

bool ControlServer::wait_readable(int fd, int timeout_ms) const {
  pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
  while (true) {
    const int n = ::poll(fds, 2, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    return n > 0 && !(fds[1].revents & POLLIN) && fds[0].revents != 0;
  }
}

void ControlServer::run() {
  while (wait_readable(listener_.get(), -1)) {
    UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) continue;  // the peer went away, or EMFILE: try the next one
    try {
      serve(std::move(client));
    } catch (const std::exception& e) {
      // One broken connection (timeout, garbage) never stops the server.
      std::fprintf(stderr, "tlsgated: control connection: %s\n", e.what());
    }
  }
}

void ControlServer::serve(UniqueFd client) {
  ::setsockopt(client.get(), SOL_SOCKET, SO_RCVTIMEO, &kIoTimeout, sizeof kIoTimeout);
  ::setsockopt(client.get(), SOL_SOCKET, SO_SNDTIMEO, &kIoTimeout, sizeof kIoTimeout);
  const PeerCredentials peer = peer_credentials(client.get());
  if (!peer_allowed(peer, policy_)) {
    write_all(client.get(),
              encode_line(error_response(
                  "permission denied: uid " + std::to_string(peer.uid) +
                  " is neither root, the daemon's user nor a member of group tlsgate")));
    // Closing with the request unread would reset the connection before the
    // peer reads why: wait for its end (bounded by the receive timeout).
    ::shutdown(client.get(), SHUT_WR);
    char discard[4096];
    while (::read(client.get(), discard, sizeof discard) > 0) {
    }
    return;
  }
  LineReader reader(client.get(), kMaxRequestBytes);
  while (wait_readable(client.get(), kIdleTimeoutMs)) {
    auto line = reader.next();
    if (!line) return;
    nlohmann::json response;
    try {
      auto request = nlohmann::json::parse(*line);
      if (!request.is_object() || !request.contains("command") || !request["command"].is_string()) {
        response = error_response("a request is a JSON object with a string \"command\"");
      } else {
        response = handler_(request, peer);
      }
    } catch (const nlohmann::json::exception& e) {
      response = error_response(std::string("bad request: ") + e.what());
    } catch (const std::exception& e) {
      response = error_response(e.what());
    }
    write_all(client.get(), encode_line(response));
  }
}

}  // namespace tlsgate::control
