/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* TCP resets written by the TC program, in place of the packet it was given:
 * - tg_reply_rst(): the RST a closed port would send back for that packet
 *   (fail_mode = closed on a SYN; later packets of a reset flow), sent out of
 *   the interface it came in on;
 * - tg_reset_both_ways(): the flow is aborted on both ends (an SNI mismatch
 *   on a forwarded flow): a clone, rewritten as the client's RST to the
 *   server, re-enters the router, and the packet itself becomes the server's
 *   RST to the client.
 * Headers are rebuilt from scratch: IP options, IPv6 extension headers, TCP
 * options and any payload are dropped, checksums computed in full. */
#ifndef TLSGATE_TCP_RESET_H
#define TLSGATE_TCP_RESET_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "parse_packet.h"

#define TG_RST_TTL 64

/* Adds `words` 16-bit words at `data` to a ones' complement sum. */
static __always_inline __u32 tg_csum_add(__u32 sum, const void* data, int words) {
  const __u16* w = (const __u16*)data;
  int i;

#pragma unroll
  for (i = 0; i < words; i++) sum += w[i];
  return sum;
}

static __always_inline __u16 tg_csum_fold(__u32 sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)~sum;
}

/* RFC 9293 §3.10.7.1, the reply of a closed port: to a segment with ACK,
 * <SEQ=SEG.ACK><CTL=RST>; otherwise <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
 * (a SYN counts one). */
static __always_inline void tg_fill_rst_reply(struct tcphdr* tcp, const struct tg_packet* pkt) {
  __builtin_memset(tcp, 0, sizeof(*tcp));
  tcp->source = pkt->key.dport;
  tcp->dest = pkt->key.sport;
  tcp->doff = 5;
  tcp->rst = 1;
  if (pkt->tcp_flags & TG_TCP_ACK) {
    tcp->seq = bpf_htonl(pkt->ack_seq);
    return;
  }
  tcp->ack_seq = bpf_htonl(pkt->seq + pkt->payload_len + ((pkt->tcp_flags & TG_TCP_SYN) ? 1 : 0));
  tcp->ack = 1;
}

/* The client aborting its flow at `pkt` (which carries an ACK): the server
 * expects exactly SEG.SEQ next. */
static __always_inline void tg_fill_rst_abort(struct tcphdr* tcp, const struct tg_packet* pkt) {
  __builtin_memset(tcp, 0, sizeof(*tcp));
  tcp->source = pkt->key.sport;
  tcp->dest = pkt->key.dport;
  tcp->seq = bpf_htonl(pkt->seq);
  tcp->ack_seq = bpf_htonl(pkt->ack_seq);
  tcp->doff = 5;
  tcp->rst = 1;
  tcp->ack = 1;
}

static __always_inline int tg_swap_macs(struct __sk_buff* skb) {
  struct ethhdr eth;
  __u8 mac[ETH_ALEN];

  if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth))) return -1;
  __builtin_memcpy(mac, eth.h_dest, ETH_ALEN);
  __builtin_memcpy(eth.h_dest, eth.h_source, ETH_ALEN);
  __builtin_memcpy(eth.h_source, mac, ETH_ALEN);
  return bpf_skb_store_bytes(skb, 0, &eth, sizeof(eth), 0);
}

static __always_inline int tg_write_tcp_v4(struct __sk_buff* skb, __u32 saddr, __u32 daddr,
                                           struct tcphdr* tcp) {
  struct iphdr ip;
  __u32 sum;

  __builtin_memset(&ip, 0, sizeof(ip));
  ip.version = 4;
  ip.ihl = 5;
  ip.tot_len = bpf_htons(sizeof(ip) + sizeof(*tcp));
  ip.frag_off = bpf_htons(0x4000); /* DF */
  ip.ttl = TG_RST_TTL;
  ip.protocol = IPPROTO_TCP;
  ip.saddr = saddr;
  ip.daddr = daddr;
  ip.check = tg_csum_fold(tg_csum_add(0, &ip, sizeof(ip) / 2));

  sum = tg_csum_add(0, &ip.saddr, 4); /* pseudo-header: saddr, daddr */
  sum += bpf_htons(IPPROTO_TCP) + bpf_htons(sizeof(*tcp));
  tcp->check = tg_csum_fold(tg_csum_add(sum, tcp, sizeof(*tcp) / 2));

  if (bpf_skb_store_bytes(skb, ETH_HLEN, &ip, sizeof(ip), 0)) return -1;
  return bpf_skb_store_bytes(skb, ETH_HLEN + sizeof(ip), tcp, sizeof(*tcp), 0);
}

static __always_inline int tg_write_tcp_v6(struct __sk_buff* skb, const __u32* saddr,
                                           const __u32* daddr, struct tcphdr* tcp) {
  struct ipv6hdr ip6;
  __u32 sum;

  __builtin_memset(&ip6, 0, sizeof(ip6));
  ip6.version = 6;
  ip6.payload_len = bpf_htons(sizeof(*tcp));
  ip6.nexthdr = IPPROTO_TCP;
  ip6.hop_limit = TG_RST_TTL;
  __builtin_memcpy(&ip6.saddr, saddr, 16);
  __builtin_memcpy(&ip6.daddr, daddr, 16);

  sum = tg_csum_add(0, &ip6.saddr, 16); /* pseudo-header: saddr, daddr */
  sum += bpf_htons(sizeof(*tcp)) + bpf_htons(IPPROTO_TCP);
  tcp->check = tg_csum_fold(tg_csum_add(sum, tcp, sizeof(*tcp) / 2));

  if (bpf_skb_store_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6), 0)) return -1;
  return bpf_skb_store_bytes(skb, ETH_HLEN + sizeof(ip6), tcp, sizeof(*tcp), 0);
}

/* Rewrites the packet as a bare IP+TCP RST: toward the client (`to_client`,
 * MACs swapped, tg_fill_rst_reply) or on toward the server (MACs kept: the
 * router forwards it, tg_fill_rst_abort). Returns 0 or -1. */
static __always_inline int tg_rewrite_as_rst(struct __sk_buff* skb, const struct tg_packet* pkt,
                                             int to_client) {
  __u32 ip_len = pkt->key.family == TG_AF_INET ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
  struct tcphdr tcp;

  if (to_client)
    tg_fill_rst_reply(&tcp, pkt);
  else
    tg_fill_rst_abort(&tcp, pkt);
  if (bpf_skb_change_tail(skb, ETH_HLEN + ip_len + sizeof(struct tcphdr), 0)) return -1;
  if (to_client && tg_swap_macs(skb)) return -1;
  if (pkt->key.family == TG_AF_INET) {
    if (to_client) return tg_write_tcp_v4(skb, pkt->key.daddr[0], pkt->key.saddr[0], &tcp);
    return tg_write_tcp_v4(skb, pkt->key.saddr[0], pkt->key.daddr[0], &tcp);
  }
  if (to_client) return tg_write_tcp_v6(skb, pkt->key.daddr, pkt->key.saddr, &tcp);
  return tg_write_tcp_v6(skb, pkt->key.saddr, pkt->key.daddr, &tcp);
}

/* Returns the TC verdict: the RST redirected out of the ingress interface, or
 * SHOT if the packet could not be rewritten (it is dropped either way). */
static __always_inline int tg_reply_rst(struct __sk_buff* skb, const struct tg_packet* pkt) {
  if (tg_rewrite_as_rst(skb, pkt, 1)) return TC_ACT_SHOT;
  return bpf_redirect(skb->ifindex, 0);
}

/* For a packet with ACK of an established, forwarded flow. The clone passes
 * this program again as a RST (see follow_flow) before it is routed. */
static __always_inline int tg_reset_both_ways(struct __sk_buff* skb, const struct tg_packet* pkt) {
  if (tg_rewrite_as_rst(skb, pkt, 0) == 0) bpf_clone_redirect(skb, skb->ifindex, BPF_F_INGRESS);
  return tg_reply_rst(skb, pkt);
}

#endif /* TLSGATE_TCP_RESET_H */
