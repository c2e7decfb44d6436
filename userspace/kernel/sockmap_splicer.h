// The kernel relay for flows the terminator bypassed (DESIGN.md §3): the
// splice BPF object (bpf/splice.bpf.c) with its sk_skb stream_verdict program
// attached to the `splice_socks` sockhash. A pair of connected TCP sockets
// put in it relay each other's bytes inside the kernel; userspace only reads
// how many went each way and takes the pair out again. Not pinned: the
// sockets belong to this process and die with it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

namespace tlsgate::kernel {

struct SplicedPair {
  uint64_t a_cookie = 0;  // SO_COOKIE of the first socket
  uint64_t b_cookie = 0;
};

struct SplicedBytes {
  uint64_t from_a = 0;  // bytes a received and the kernel passed to b
  uint64_t from_b = 0;
};

class SockmapSplicer {
 public:
  // Loads the object and attaches the verdict program; throws
  // std::runtime_error when the kernel refuses (then userspace copies).
  static std::unique_ptr<SockmapSplicer> load();
  ~SockmapSplicer();
  SockmapSplicer(const SockmapSplicer&) = delete;
  SockmapSplicer& operator=(const SockmapSplicer&) = delete;

  // Both must be connected TCP sockets. On failure nothing stays in the maps
  // and nullopt is returned: the caller relays in userspace. Thread-safe.
  std::optional<SplicedPair> insert(int a_fd, int b_fd);
  SplicedBytes bytes(const SplicedPair& pair) const;
  // Takes the pair out (closing a socket also takes it out of the sockhash;
  // the byte counters stay until this is called).
  void remove(const SplicedPair& pair);

 private:
  struct Impl;
  explicit SockmapSplicer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tlsgate::kernel
