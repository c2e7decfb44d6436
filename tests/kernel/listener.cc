#include "listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <stdexcept>
#include <string>

namespace tlsgate::test {

UniqueFd transparent_listener(int family, uint16_t port) {
  UniqueFd fd(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  bool ok = fd && setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == 0;
  if (family == AF_INET) {
    ok = ok && setsockopt(fd.get(), SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) == 0;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = ok && bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
  } else {
    ok = ok && setsockopt(fd.get(), SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one)) == 0 &&
         setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == 0;
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    sa.sin6_addr = in6addr_loopback;
    ok = ok && bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
  }
  ok = ok && listen(fd.get(), 128) == 0;
  if (!ok) throw std::runtime_error("transparent listener on port " + std::to_string(port));
  return fd;
}

}  // namespace tlsgate::test
