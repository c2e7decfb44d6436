#include "metrics/metrics_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "metrics/prometheus_text.h"

namespace tlsgate::metrics {

namespace {

constexpr size_t kMaxHead = 8192;
constexpr timeval kIoTimeout{2, 0};  // a scraper that stalls does not hold the thread

std::string response(const char* status, const char* content_type, const std::string& body,
                     bool head_only) {
  std::string out = std::string("HTTP/1.1 ") + status + "\r\nContent-Type: " + content_type +
                    "\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the scraper went away
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

std::string http_response(std::string_view head,
                          const std::function<std::string()>& render_metrics) {
  const auto line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/1.")) {
    return response("400 Bad Request", "text/plain", "bad request\n", false);
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  target = target.substr(0, target.find('?'));
  const bool head_only = method == "HEAD";
  if (method != "GET" && !head_only) {
    return response("405 Method Not Allowed", "text/plain", "GET /metrics\n", false);
  }
  if (target != "/metrics") {
    return response("404 Not Found", "text/plain", "tlsgated serves /metrics\n", head_only);
  }
  return response("200 OK", kContentType, render_metrics(), head_only);
}

MetricsServer::MetricsServer(const Endpoint& listen, std::function<std::string()> render_metrics)
    : render_(std::move(render_metrics)), stop_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  const std::string where = listen.to_string();
  auto fail = [&](const char* step) {
    throw std::runtime_error(std::string("metrics listener ") + where + ": " + step + ": " +
                             std::strerror(errno));
  };
  if (!stop_fd_) fail("eventfd");
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (listen.address.is_v4()) {
    auto& sin = reinterpret_cast<sockaddr_in&>(ss);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(listen.port);
    std::memcpy(&sin.sin_addr, listen.address.bytes().data(), 4);
    len = sizeof sin;
  } else {
    auto& sin6 = reinterpret_cast<sockaddr_in6&>(ss);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(listen.port);
    std::memcpy(&sin6.sin6_addr, listen.address.bytes().data(), 16);
    len = sizeof sin6;
  }
  listener_.reset(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener_) fail("socket");
  const int one = 1;
  ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) fail("bind");
  if (::listen(listener_.get(), 16) != 0) fail("listen");
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  if (::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&bound), &blen) != 0) {
    fail("getsockname");
  }
  port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in&>(bound).sin_port
                                           : reinterpret_cast<sockaddr_in6&>(bound).sin6_port);
}

MetricsServer::~MetricsServer() {
  stop();
}

void MetricsServer::start() {
  thread_ = std::thread([this] { run(); });
}

void MetricsServer::stop() {
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(stop_fd_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  listener_.reset();  // refuse connections instead of leaving them unanswered
}

void MetricsServer::run() {
  while (true) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents & POLLIN) return;
    UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) continue;
    try {
      serve(client.get());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tlsgated: metrics: %s\n", e.what());
    }
  }
}

void MetricsServer::serve(int client) {
  ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &kIoTimeout, sizeof kIoTimeout);
  ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &kIoTimeout, sizeof kIoTimeout);
  std::string head;
  while (head.find("\r\n\r\n") == std::string::npos) {
    if (head.size() > kMaxHead) {
      send_all(client, "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n");
      return;
    }
    char buf[2048];
    const ssize_t n = ::recv(client, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // closed or timed out before a whole head
    head.append(buf, static_cast<size_t>(n));
  }
  send_all(client, http_response(head, render_));
}

}  // namespace tlsgate::metrics
