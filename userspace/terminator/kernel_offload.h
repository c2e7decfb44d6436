// What the terminator asks of the kernel side (DESIGN.md §2, §3), as
// interfaces: the daemon implements them on top of kernel::KernelSide, so the
// terminator does not depend on the BPF loader and tests can stand in.
#pragma once

#include <cstdint>
#include <optional>

#include "common/ip_address.h"

namespace tlsgate::terminator {

// The `learned` map: what the classified SNIs say about a server address.
class LearnedAddressFeed {
 public:
  virtual ~LearnedAddressFeed() = default;
  // Only bypassed names seen at `server`, each proven by a probe and each a
  // name the kernel can check: new flows may be forwarded by the kernel.
  virtual void bypass_only(const Endpoint& server) = 0;
  // A flow there was inspected or blocked (or bypassed for a reason the
  // kernel cannot check): keep steering.
  virtual void mixed(const Endpoint& server) = 0;
};

struct SplicedSockets {
  uint64_t client_cookie = 0;
  uint64_t upstream_cookie = 0;
};

// The sockmap relay for bypassed flows.
class KernelSplice {
 public:
  virtual ~KernelSplice() = default;
  // Both sockets connected; nullopt when the kernel refused (userspace copies).
  virtual std::optional<SplicedSockets> insert(int client_fd, int upstream_fd) = 0;
  struct Bytes {
    uint64_t from_client = 0;  // received from the client, passed to the upstream
    uint64_t from_upstream = 0;
  };
  virtual Bytes bytes(const SplicedSockets& pair) const = 0;
  virtual void remove(const SplicedSockets& pair) = 0;
};

}  // namespace tlsgate::terminator
