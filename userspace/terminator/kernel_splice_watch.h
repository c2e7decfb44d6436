// One bypassed flow relayed by the kernel (sockmap): what the terminator
// still needs to know about it without reading its bytes.
//
// TCP half-closes do not cross a sockmap: when one side sends FIN, the
// terminator must shut down the other side's writing itself, but only once
// every byte received before the FIN has reached that socket — the relay is
// asynchronous (the kernel queues redirected data while the peer's send
// buffer is full). "Reached" is exact: the bytes written into a socket
// (TCP_INFO bytes_acked + SIOCOUTQ, relative to when the pair was inserted)
// equal the bytes the verdict program redirected into it plus what the
// terminator itself sent there (the replayed ClientHello).
#pragma once

#include <cstdint>
#include <memory>

#include "terminator/kernel_offload.h"

namespace tlsgate::terminator {

class KernelSpliceWatch {
 public:
  // Measures both sockets, then hands them to the kernel relay (measured
  // first: nothing relayed can hide in the baseline). Null when the kernel
  // refused the pair; the watch takes it out of the kernel maps when destroyed.
  static std::unique_ptr<KernelSpliceWatch> start(KernelSplice& kernel, int client_fd,
                                                  int upstream_fd);
  ~KernelSpliceWatch();
  KernelSpliceWatch(const KernelSpliceWatch&) = delete;
  KernelSpliceWatch& operator=(const KernelSpliceWatch&) = delete;

  // The terminator wrote `n` bytes into a socket itself.
  void note_sent(bool to_client, uint64_t n);
  // Has every byte received on the other socket so far reached this one?
  bool all_delivered(bool to_client) const;
  KernelSplice::Bytes bytes() const { return kernel_.bytes(pair_); }
  // Grows while bytes move anywhere in the relay (for idle detection).
  uint64_t progress() const;

 private:
  KernelSpliceWatch(KernelSplice& kernel, int client_fd, int upstream_fd);
  static uint64_t written(int fd);
  static bool received_all_relayed(int fd);
  uint64_t written(bool to_client) const { return written(fds_[to_client ? 0 : 1]); }

  KernelSplice& kernel_;
  SplicedSockets pair_;
  int fds_[2];            // client, upstream
  uint64_t baseline_[2];  // written() when inserted
  uint64_t sent_[2] = {0, 0};
  bool inserted_ = true;
};

}  // namespace tlsgate::terminator
