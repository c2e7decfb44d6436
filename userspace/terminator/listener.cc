#include "terminator/listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace tlsgate::terminator {

namespace {

void set_option(int fd, int level, int name, const char* what) {
  int one = 1;
  if (setsockopt(fd, level, name, &one, sizeof one) != 0) {
    throw std::runtime_error(std::string("setsockopt ") + what + ": " + std::strerror(errno));
  }
}

UniqueFd open_listener(int family, uint16_t port, int backlog) {
  UniqueFd fd(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    if (family == AF_INET6 && errno == EAFNOSUPPORT) return {};
    throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  }
  set_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR");
  set_option(fd.get(), SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT");
  set_option(fd.get(), IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY");
  int rc = 0;
  if (family == AF_INET) {
    set_option(fd.get(), SOL_IP, IP_TRANSPARENT, "IP_TRANSPARENT");
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  } else {
    set_option(fd.get(), SOL_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY");
    set_option(fd.get(), SOL_IPV6, IPV6_TRANSPARENT, "IPV6_TRANSPARENT");
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    sa.sin6_addr = in6addr_loopback;
    rc = bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    if (rc != 0 && errno == EADDRNOTAVAIL) return {};  // IPv6 disabled on lo
  }
  if (rc != 0) {
    throw std::runtime_error("bind " + std::string(family == AF_INET ? "127.0.0.1" : "[::1]") +
                             ":" + std::to_string(port) + ": " + std::strerror(errno));
  }
  if (listen(fd.get(), backlog) != 0) {
    throw std::runtime_error(std::string("listen: ") + std::strerror(errno));
  }
  return fd;
}

}  // namespace

std::vector<UniqueFd> open_transparent_listeners(uint16_t port, int backlog) {
  std::vector<UniqueFd> out;
  out.push_back(open_listener(AF_INET, port, backlog));
  if (UniqueFd v6 = open_listener(AF_INET6, port, backlog)) out.push_back(std::move(v6));
  return out;
}

}  // namespace tlsgate::terminator
