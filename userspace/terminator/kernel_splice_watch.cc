#include "terminator/kernel_splice_watch.h"

#include <linux/sockios.h>
#include <linux/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

namespace tlsgate::terminator {

KernelSpliceWatch::KernelSpliceWatch(KernelSplice& kernel, int client_fd, int upstream_fd)
    : kernel_(kernel),
      fds_{client_fd, upstream_fd},
      baseline_{written(client_fd), written(upstream_fd)} {}

std::unique_ptr<KernelSpliceWatch> KernelSpliceWatch::start(KernelSplice& kernel, int client_fd,
                                                            int upstream_fd) {
  std::unique_ptr<KernelSpliceWatch> watch(new KernelSpliceWatch(kernel, client_fd, upstream_fd));
  auto pair = kernel.insert(client_fd, upstream_fd);
  if (!pair) {
    watch->inserted_ = false;
    return nullptr;
  }
  watch->pair_ = *pair;
  return watch;
}

KernelSpliceWatch::~KernelSpliceWatch() {
  if (inserted_) kernel_.remove(pair_);
}

void KernelSpliceWatch::note_sent(bool to_client, uint64_t n) {
  sent_[to_client ? 0 : 1] += n;
}

// Read in this order, an ACK in between can only make the sum smaller:
// equality below never holds early.
uint64_t KernelSpliceWatch::written(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return 0;
  int unacked = 0;
  if (ioctl(fd, SIOCOUTQ, &unacked) != 0) return 0;
  return info.tcpi_bytes_acked + static_cast<uint64_t>(unacked);
}

uint64_t KernelSpliceWatch::progress() const {
  KernelSplice::Bytes relayed = kernel_.bytes(pair_);
  return relayed.from_client + relayed.from_upstream + written(true) + written(false);
}

// Has every byte the socket received gone through the verdict program (and
// been counted)? A segment carrying data and FIN wakes the poll for the FIN
// (tcp_fin) before its data reaches the verdict (tcp_data_ready), both under
// the socket's lock: the ioctl takes that lock, so it returns after the
// segment was handled, and an empty receive queue means nothing waits.
bool KernelSpliceWatch::received_all_relayed(int fd) {
  int unread = 0;
  if (ioctl(fd, SIOCINQ, &unread) != 0) return true;  // no queue to wait for
  return unread == 0;
}

bool KernelSpliceWatch::all_delivered(bool to_client) const {
  if (!received_all_relayed(fds_[to_client ? 1 : 0])) return false;
  KernelSplice::Bytes relayed = kernel_.bytes(pair_);
  const int i = to_client ? 0 : 1;
  const uint64_t expected = (to_client ? relayed.from_upstream : relayed.from_client) + sent_[i];
  return written(to_client) - baseline_[i] == expected;
}

}  // namespace tlsgate::terminator
