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

bool KernelSpliceWatch::all_delivered(bool to_client) const {
  KernelSplice::Bytes relayed = kernel_.bytes(pair_);
  const int i = to_client ? 0 : 1;
  const uint64_t expected = (to_client ? relayed.from_upstream : relayed.from_client) + sent_[i];
  return written(to_client) - baseline_[i] == expected;
}

}  // namespace tlsgate::terminator
