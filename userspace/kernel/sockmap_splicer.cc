#include "kernel/sockmap_splicer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "tlsgate_abi.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include "splice.skel.h"
#pragma GCC diagnostic pop

namespace tlsgate::kernel {

namespace {

struct SkeletonDeleter {
  void operator()(splice* skel) const { splice__destroy(skel); }
};

std::optional<uint64_t> socket_cookie(int fd) {
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0) return std::nullopt;
  return cookie;
}

}  // namespace

struct SockmapSplicer::Impl {
  std::unique_ptr<splice, SkeletonDeleter> skel;
  int socks_fd = -1;
  int peers_fd = -1;
};

SockmapSplicer::SockmapSplicer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SockmapSplicer::~SockmapSplicer() = default;

std::unique_ptr<SockmapSplicer> SockmapSplicer::load() {
  auto impl = std::make_unique<Impl>();
  impl->skel.reset(splice__open_and_load());
  if (!impl->skel) {
    throw std::runtime_error(std::string("load splice BPF object: ") + std::strerror(errno));
  }
  impl->socks_fd = bpf_map__fd(impl->skel->maps.splice_socks);
  impl->peers_fd = bpf_map__fd(impl->skel->maps.splice_peers);
  int prog_fd = bpf_program__fd(impl->skel->progs.splice_verdict);
  if (bpf_prog_attach(prog_fd, impl->socks_fd, BPF_SK_SKB_STREAM_VERDICT, 0) != 0) {
    throw std::runtime_error(std::string("attach sk_skb stream verdict: ") + std::strerror(errno));
  }
  return std::unique_ptr<SockmapSplicer>(new SockmapSplicer(std::move(impl)));
}

std::optional<SplicedPair> SockmapSplicer::insert(int a_fd, int b_fd) {
  auto a = socket_cookie(a_fd);
  auto b = socket_cookie(b_fd);
  if (!a || !b) return std::nullopt;
  SplicedPair pair{*a, *b};
  // Peers first: a byte arriving the moment a socket enters the sockhash
  // already finds where it goes.
  tg_splice_peer to_b{*b, 0}, to_a{*a, 0};
  bool ok = bpf_map_update_elem(impl_->peers_fd, &pair.a_cookie, &to_b, BPF_NOEXIST) == 0 &&
            bpf_map_update_elem(impl_->peers_fd, &pair.b_cookie, &to_a, BPF_NOEXIST) == 0;
  uint64_t fd_value = static_cast<uint64_t>(b_fd);
  ok = ok && bpf_map_update_elem(impl_->socks_fd, &pair.b_cookie, &fd_value, BPF_NOEXIST) == 0;
  fd_value = static_cast<uint64_t>(a_fd);
  ok = ok && bpf_map_update_elem(impl_->socks_fd, &pair.a_cookie, &fd_value, BPF_NOEXIST) == 0;
  if (!ok) {
    remove(pair);
    return std::nullopt;
  }
  return pair;
}

SplicedBytes SockmapSplicer::bytes(const SplicedPair& pair) const {
  SplicedBytes out;
  tg_splice_peer value{};
  if (bpf_map_lookup_elem(impl_->peers_fd, &pair.a_cookie, &value) == 0) out.from_a = value.bytes;
  if (bpf_map_lookup_elem(impl_->peers_fd, &pair.b_cookie, &value) == 0) out.from_b = value.bytes;
  return out;
}

void SockmapSplicer::remove(const SplicedPair& pair) {
  for (uint64_t cookie : {pair.a_cookie, pair.b_cookie}) {
    bpf_map_delete_elem(impl_->socks_fd, &cookie);  // absent once the socket closed
    bpf_map_delete_elem(impl_->peers_fd, &cookie);
  }
}

}  // namespace tlsgate::kernel
