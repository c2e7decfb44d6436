#include "kernel/rtnetlink_socket.h"

#include <libmnl/libmnl.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tlsgate::kernel {

namespace {

std::runtime_error netlink_error(const std::string& what) {
  return std::runtime_error("rtnetlink " + what + ": " + std::strerror(errno));
}

struct DumpContext {
  const std::function<void(const nlmsghdr*)>* on_message;
};

int dump_callback(const nlmsghdr* nlh, void* data) {
  auto* context = static_cast<DumpContext*>(data);
  (*context->on_message)(nlh);
  return MNL_CB_OK;
}

}  // namespace

NetlinkRequest::NetlinkRequest(uint16_t type, uint16_t flags) : buffer_(MNL_SOCKET_BUFFER_SIZE) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer_.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
}

void* NetlinkRequest::put_extra_header(size_t size) {
  return mnl_nlmsg_put_extra_header(message(), size);
}

void NetlinkRequest::put_u32(uint16_t attr, uint32_t value) {
  mnl_attr_put_u32(message(), attr, value);
}

RtnetlinkSocket::RtnetlinkSocket() {
  socket_ = mnl_socket_open(NETLINK_ROUTE);
  if (socket_ == nullptr) throw netlink_error("open");
  if (mnl_socket_bind(socket_, 0, MNL_SOCKET_AUTOPID) < 0) {
    mnl_socket_close(socket_);
    throw netlink_error("bind");
  }
  port_id_ = mnl_socket_get_portid(socket_);
}

RtnetlinkSocket::~RtnetlinkSocket() {
  mnl_socket_close(socket_);
}

int RtnetlinkSocket::send(NetlinkRequest& request) {
  nlmsghdr* nlh = request.message();
  nlh->nlmsg_seq = ++seq_;
  if (mnl_socket_sendto(socket_, nlh, nlh->nlmsg_len) < 0) throw netlink_error("send");
  return static_cast<int>(nlh->nlmsg_seq);
}

int RtnetlinkSocket::execute(NetlinkRequest& request) {
  request.message()->nlmsg_flags |= NLM_F_ACK;
  auto seq = static_cast<unsigned>(send(request));
  std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE);
  while (true) {
    ssize_t n = mnl_socket_recvfrom(socket_, buffer.data(), buffer.size());
    if (n < 0) throw netlink_error("receive");
    int ret = mnl_cb_run(buffer.data(), static_cast<size_t>(n), seq, port_id_, nullptr, nullptr);
    if (ret < 0) return errno;
    if (ret == MNL_CB_STOP) return 0;
  }
}

int RtnetlinkSocket::dump(NetlinkRequest& request,
                          const std::function<void(const nlmsghdr*)>& on_message) {
  request.message()->nlmsg_flags |= NLM_F_DUMP;
  auto seq = static_cast<unsigned>(send(request));
  std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE);
  DumpContext context{&on_message};
  while (true) {
    ssize_t n = mnl_socket_recvfrom(socket_, buffer.data(), buffer.size());
    if (n < 0) throw netlink_error("receive");
    int ret =
        mnl_cb_run(buffer.data(), static_cast<size_t>(n), seq, port_id_, dump_callback, &context);
    if (ret < 0) return errno;
    if (ret == MNL_CB_STOP) return 0;
  }
}

}  // namespace tlsgate::kernel
