/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Turns a client's SYN into the RST|ACK a closed port would send, in place,
 * and sends it back out of the interface it came in on (fail_mode = closed).
 * Headers are rebuilt from scratch: IP options, IPv6 extension headers, TCP
 * options and any SYN payload are dropped, checksums computed in full. */
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

static __always_inline void tg_fill_rst_tcp(struct tcphdr* tcp, const struct tg_packet* pkt) {
  __builtin_memset(tcp, 0, sizeof(*tcp));
  tcp->source = pkt->key.dport;
  tcp->dest = pkt->key.sport;
  /* RFC 9293 §3.10.7.1: the SYN had no ACK, so seq 0 and ack = SEG.SEQ + SEG.LEN */
  tcp->ack_seq = bpf_htonl(pkt->seq + 1 + pkt->payload_len);
  tcp->doff = 5;
  tcp->rst = 1;
  tcp->ack = 1;
}

static __always_inline int tg_write_rst_l2(struct __sk_buff* skb) {
  struct ethhdr eth;
  __u8 mac[ETH_ALEN];

  if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth))) return -1;
  __builtin_memcpy(mac, eth.h_dest, ETH_ALEN);
  __builtin_memcpy(eth.h_dest, eth.h_source, ETH_ALEN);
  __builtin_memcpy(eth.h_source, mac, ETH_ALEN);
  return bpf_skb_store_bytes(skb, 0, &eth, sizeof(eth), 0);
}

static __always_inline int tg_write_rst_v4(struct __sk_buff* skb, const struct tg_packet* pkt) {
  struct iphdr ip;
  struct tcphdr tcp;
  __u32 sum;

  __builtin_memset(&ip, 0, sizeof(ip));
  ip.version = 4;
  ip.ihl = 5;
  ip.tot_len = bpf_htons(sizeof(ip) + sizeof(tcp));
  ip.frag_off = bpf_htons(0x4000); /* DF */
  ip.ttl = TG_RST_TTL;
  ip.protocol = IPPROTO_TCP;
  ip.saddr = pkt->key.daddr[0];
  ip.daddr = pkt->key.saddr[0];
  ip.check = tg_csum_fold(tg_csum_add(0, &ip, sizeof(ip) / 2));

  tg_fill_rst_tcp(&tcp, pkt);
  sum = tg_csum_add(0, &ip.saddr, 4); /* pseudo-header: saddr, daddr */
  sum += bpf_htons(IPPROTO_TCP) + bpf_htons(sizeof(tcp));
  tcp.check = tg_csum_fold(tg_csum_add(sum, &tcp, sizeof(tcp) / 2));

  if (bpf_skb_store_bytes(skb, ETH_HLEN, &ip, sizeof(ip), 0)) return -1;
  return bpf_skb_store_bytes(skb, ETH_HLEN + sizeof(ip), &tcp, sizeof(tcp), 0);
}

static __always_inline int tg_write_rst_v6(struct __sk_buff* skb, const struct tg_packet* pkt) {
  struct ipv6hdr ip6;
  struct tcphdr tcp;
  __u32 sum;

  __builtin_memset(&ip6, 0, sizeof(ip6));
  ip6.version = 6;
  ip6.payload_len = bpf_htons(sizeof(tcp));
  ip6.nexthdr = IPPROTO_TCP;
  ip6.hop_limit = TG_RST_TTL;
  __builtin_memcpy(&ip6.saddr, pkt->key.daddr, 16);
  __builtin_memcpy(&ip6.daddr, pkt->key.saddr, 16);

  tg_fill_rst_tcp(&tcp, pkt);
  sum = tg_csum_add(0, &ip6.saddr, 16); /* pseudo-header: saddr, daddr */
  sum += bpf_htons(sizeof(tcp)) + bpf_htons(IPPROTO_TCP);
  tcp.check = tg_csum_fold(tg_csum_add(sum, &tcp, sizeof(tcp) / 2));

  if (bpf_skb_store_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6), 0)) return -1;
  return bpf_skb_store_bytes(skb, ETH_HLEN + sizeof(ip6), &tcp, sizeof(tcp), 0);
}

/* Returns the TC verdict: the RST redirected out of the ingress interface, or
 * SHOT if the packet could not be rewritten (the SYN is dropped either way). */
static __always_inline int tg_reply_rst(struct __sk_buff* skb, const struct tg_packet* pkt) {
  __u32 ip_len = pkt->key.family == TG_AF_INET ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
  int err;

  if (bpf_skb_change_tail(skb, ETH_HLEN + ip_len + sizeof(struct tcphdr), 0)) return TC_ACT_SHOT;
  if (tg_write_rst_l2(skb)) return TC_ACT_SHOT;
  if (pkt->key.family == TG_AF_INET)
    err = tg_write_rst_v4(skb, pkt);
  else
    err = tg_write_rst_v6(skb, pkt);
  if (err) return TC_ACT_SHOT;
  return bpf_redirect(skb->ifindex, 0);
}

#endif /* TLSGATE_TCP_RESET_H */
