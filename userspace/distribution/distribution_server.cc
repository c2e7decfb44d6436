#include "distribution/distribution_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "distribution/distribution_site.h"

namespace tlsgate::distribution {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxHead = 8192;
constexpr size_t kMaxClients = 64;
constexpr std::chrono::seconds kClientDeadline{10};  // the whole exchange, start to end

UniqueFd bind_entry(const config::DistributionListen& entry) {
  const std::string where = "distribution listener " + entry.to_string();
  auto fail = [&](const char* step) {
    throw std::runtime_error(where + ": " + step + ": " + std::strerror(errno));
  };
  sockaddr_storage ss{};
  socklen_t len = 0;
  const bool v4 = entry.address && entry.address->is_v4();
  if (v4) {
    auto& sin = reinterpret_cast<sockaddr_in&>(ss);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(entry.port);
    std::memcpy(&sin.sin_addr, entry.address->bytes().data(), 4);
    len = sizeof sin;
  } else {
    auto& sin6 = reinterpret_cast<sockaddr_in6&>(ss);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(entry.port);
    if (entry.address) std::memcpy(&sin6.sin6_addr, entry.address->bytes().data(), 16);
    len = sizeof sin6;
  }
  UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) fail("socket");
  const int one = 1;
  const int zero = 0;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (entry.address) {
    // Bound even when the address is not configured yet (a LAN address
    // assigned after the daemon started).
    if (v4) {
      ::setsockopt(fd.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
    } else {
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one);
    }
  } else {
    // Every address of the interface, both families, and nothing else.
    if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) != 0) {
      fail("IPV6_V6ONLY");
    }
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, entry.interface.c_str(),
                     static_cast<socklen_t>(entry.interface.size())) != 0) {
      fail("SO_BINDTODEVICE");
    }
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) fail("bind");
  if (::listen(fd.get(), 64) != 0) fail("listen");
  return fd;
}

}  // namespace

struct DistributionServer::Client {
  UniqueFd fd;
  Clock::time_point deadline;
  std::string in;
  std::string out;
  size_t sent = 0;
  bool answering = false;
};

DistributionServer::DistributionServer(const std::vector<config::DistributionListen>& listen,
                                       Source source)
    : source_(std::move(source)), stop_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!stop_fd_) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  for (const auto& entry : listen) listeners_.push_back(bind_entry(entry));
}

DistributionServer::~DistributionServer() {
  stop();
}

std::vector<uint16_t> DistributionServer::ports() const {
  std::vector<uint16_t> out;
  for (const UniqueFd& fd : listeners_) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
      out.push_back(0);
      continue;
    }
    out.push_back(ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in&>(ss).sin_port
                                                : reinterpret_cast<sockaddr_in6&>(ss).sin6_port));
  }
  return out;
}

void DistributionServer::start() {
  thread_ = std::thread([this] { run(); });
}

void DistributionServer::stop() {
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(stop_fd_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  listeners_.clear();
}

void DistributionServer::run() {
  std::vector<Client> clients;
  while (true) {
    const auto now = Clock::now();
    // Past their deadline: dropped, whatever they were doing.
    std::erase_if(clients, [&](const Client& c) { return now >= c.deadline; });
    std::vector<pollfd> fds;
    fds.push_back({stop_fd_.get(), POLLIN, 0});
    for (const UniqueFd& l : listeners_) fds.push_back({l.get(), POLLIN, 0});
    for (const Client& c : clients) {
      fds.push_back({c.fd.get(), static_cast<short>(c.answering ? POLLOUT : POLLIN), 0});
    }
    int timeout_ms = -1;
    for (const Client& c : clients) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - now).count() + 1;
      timeout_ms =
          timeout_ms < 0 ? static_cast<int>(left) : std::min(timeout_ms, static_cast<int>(left));
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "tlsgated: distribution: poll: %s\n", std::strerror(errno));
      return;
    }
    if (fds[0].revents & POLLIN) return;

    const size_t first_client = 1 + listeners_.size();
    for (size_t i = 0; i < clients.size(); ++i) {
      const short revents = fds[first_client + i].revents;
      if (revents == 0) continue;
      Client& c = clients[i];
      if (!c.answering) {
        char buf[2048];
        const ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
        if (n <= 0) {
          if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
          c.deadline = now;  // closed before a whole head
          continue;
        }
        c.in.append(buf, static_cast<size_t>(n));
        if (c.in.find("\r\n\r\n") != std::string::npos) {
          c.out = distribution_response(c.in, source_());
        } else if (c.in.size() > kMaxHead) {
          c.out = "HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\n\r\n";
        } else {
          continue;
        }
        c.answering = true;
      }
      const ssize_t n =
          ::send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) {
        c.deadline = now;
        continue;
      }
      c.sent += static_cast<size_t>(n);
      if (c.sent == c.out.size()) {
        ::shutdown(c.fd.get(), SHUT_WR);
        c.deadline = now;  // done: closed on the next round
      }
    }

    for (size_t i = 0; i < listeners_.size(); ++i) {
      if ((fds[1 + i].revents & POLLIN) == 0) continue;
      while (true) {
        UniqueFd fd(::accept4(listeners_[i].get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!fd) break;
        if (clients.size() >= kMaxClients) continue;  // closed at once: try again later
        clients.push_back(Client{std::move(fd), Clock::now() + kClientDeadline, {}, {}, 0, false});
      }
    }
  }
}

}  // namespace tlsgate::distribution
