// A NETLINK_ROUTE socket (libmnl) for the few rtnetlink requests the kernel
// side makes: policy rules, routes, and listing tc filters.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

struct mnl_socket;

namespace tlsgate::kernel {

// A netlink request under construction: header plus one fixed-size family
// header (rtmsg, fib_rule_hdr, tcmsg) plus attributes.
class NetlinkRequest {
 public:
  NetlinkRequest(uint16_t type, uint16_t flags);
  // Appends the family header; returns a pointer into the message to fill.
  template <typename Header>
  Header* put_header() {
    return static_cast<Header*>(put_extra_header(sizeof(Header)));
  }
  void put_u32(uint16_t attr, uint32_t value);
  nlmsghdr* message() { return reinterpret_cast<nlmsghdr*>(buffer_.data()); }

 private:
  void* put_extra_header(size_t size);
  std::vector<char> buffer_;
};

class RtnetlinkSocket {
 public:
  RtnetlinkSocket();  // throws std::runtime_error
  ~RtnetlinkSocket();
  RtnetlinkSocket(const RtnetlinkSocket&) = delete;
  RtnetlinkSocket& operator=(const RtnetlinkSocket&) = delete;

  // Sends a request with NLM_F_ACK; returns 0 or the positive errno the
  // kernel answered (EEXIST, ENOENT, ...). Throws on socket errors.
  int execute(NetlinkRequest& request);

  // Sends a dump request and calls `on_message` for every reply message.
  // Returns 0 or the positive errno of the dump.
  int dump(NetlinkRequest& request, const std::function<void(const nlmsghdr*)>& on_message);

 private:
  int send(NetlinkRequest& request);
  mnl_socket* socket_ = nullptr;
  uint32_t port_id_ = 0;
  uint32_t seq_ = 0;
};

}  // namespace tlsgate::kernel
