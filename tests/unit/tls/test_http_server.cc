#include "test_http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace tlsgate::tls::testing {
namespace {

UniqueFd listen_loopback(uint16_t* port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("test server: cannot bind");
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

void send_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;  // the client gave up (size cap, timeout): fine
    off += static_cast<size_t>(n);
  }
}

}  // namespace

uint16_t closed_port() {
  uint16_t port = 0;
  listen_loopback(&port);  // bound, never listening, closed on return
  return port;
}

TestHttpServer::TestHttpServer() {
  listener_ = listen_loopback(&port_);
  if (::listen(listener_.get(), 16) != 0) throw std::runtime_error("test server: listen");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("test server: pipe");
  stop_read_.reset(fds[0]);
  stop_write_.reset(fds[1]);
  thread_ = std::thread([this] { run(); });
}

TestHttpServer::~TestHttpServer() {
  char byte = 0;
  (void)!::write(stop_write_.get(), &byte, 1);
  thread_.join();
}

std::string TestHttpServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void TestHttpServer::set(const std::string& path, Route route) {
  std::lock_guard lock(mutex_);
  routes_[path] = std::move(route);
}

int TestHttpServer::requests(const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(path);
  return it == counts_.end() ? 0 : it->second;
}

std::string TestHttpServer::last_request() const {
  std::lock_guard lock(mutex_);
  return last_request_;
}

void TestHttpServer::run() {
  while (true) {
    pollfd p[2] = {{listener_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) continue;
    if (p[1].revents != 0) return;
    if (p[0].revents != 0) {
      UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (client) serve(std::move(client));
    }
  }
}

void TestHttpServer::serve(UniqueFd client) {
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
    pollfd p[2] = {{client.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
    if (::poll(p, 2, 5000) <= 0 || p[1].revents != 0) return;
    ssize_t n = ::recv(client.get(), buf, sizeof buf, 0);
    if (n <= 0) return;
    request.append(buf, static_cast<size_t>(n));
  }
  const size_t sp1 = request.find(' ');
  const size_t sp2 = request.find(' ', sp1 + 1);
  const std::string path = sp1 == std::string::npos || sp2 == std::string::npos
                               ? ""
                               : request.substr(sp1 + 1, sp2 - sp1 - 1);
  Route route;
  {
    std::lock_guard lock(mutex_);
    last_request_ = request;
    ++counts_[path];
    auto it = routes_.find(path);
    if (it != routes_.end()) {
      route = it->second;
    } else {
      route.status = 404;
      route.body = "not found\n";
    }
  }
  if (route.stall) {
    stalled_.push_back(std::move(client));  // closed when the server stops
    return;
  }
  std::string response = "HTTP/1.0 " + std::to_string(route.status) + " X\r\n";
  if (!route.omit_content_length) {
    response +=
        "Content-Length: " + std::to_string(route.content_length.value_or(route.body.size())) +
        "\r\n";
  }
  response += "Content-Type: application/pkix-crl\r\n\r\n" + route.body;
  send_all(client.get(), response);
}

}  // namespace tlsgate::tls::testing
