// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The kernel relay of a flow the terminator bypassed (DESIGN.md §3): both
 * sockets (client side, upstream side) sit in `splice_socks`, keyed by their
 * socket cookie; `splice_peers` says where each one's bytes go. The
 * stream_verdict program runs on every skb a socket receives and redirects
 * it to the egress of the peer socket, so the bytes never reach userspace.
 * Userspace only inserts pairs, watches for their end and reads the byte
 * counts. A socket without a peer entry keeps its bytes (SK_PASS): the
 * terminator then reads them itself. An empty skb (a FIN alone) is dropped. */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "tlsgate_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TG_SPLICE_SOCKETS 65536

struct {
  __uint(type, BPF_MAP_TYPE_SOCKHASH);
  __uint(max_entries, TG_SPLICE_SOCKETS);
  __type(key, __u64);
  __type(value, __u64);
} splice_socks SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, TG_SPLICE_SOCKETS);
  __type(key, __u64);
  __type(value, struct tg_splice_peer);
} splice_peers SEC(".maps");

SEC("sk_skb/stream_verdict")
int splice_verdict(struct __sk_buff* skb) {
  __u64 cookie = bpf_get_socket_cookie(skb);
  struct tg_splice_peer* peer = bpf_map_lookup_elem(&splice_peers, &cookie);

  if (!peer) return SK_PASS;
  /* A FIN without data comes here as an empty skb (tcp_read_skb passes it
   * on). Redirected, the peer's backlog would send 0 bytes and take that for
   * a broken pipe: EPIPE on the peer socket and its relay stopped, losing
   * what the other side still sends (a half-close). The FIN itself is in the
   * socket's state: the terminator passes it on (kernel_half_close). */
  if (skb->len == 0) return SK_DROP;
  __sync_fetch_and_add(&peer->bytes, skb->len);
  return bpf_sk_redirect_hash(skb, &splice_socks, &peer->peer_cookie, 0);
}
