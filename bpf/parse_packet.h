/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Ethernet / IPv4 / IPv6 / TCP and UDP header parsing for TC programs.
 * Headers are copied with bpf_skb_load_bytes, so non-linear skbs (GRO) need
 * no pull. */
#ifndef TLSGATE_PARSE_PACKET_H
#define TLSGATE_PARSE_PACKET_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tlsgate_abi.h"

#define TG_AF_INET 2
#define TG_AF_INET6 10

#define TG_TCP_FIN 0x01
#define TG_TCP_SYN 0x02
#define TG_TCP_RST 0x04
#define TG_TCP_ACK 0x10

/* IPv6 extension headers walked before giving up on finding TCP. */
#define TG_IPV6_MAX_EXT_HEADERS 6

enum tg_packet_kind {
  TG_PKT_OTHER = 0,              /* not TCP/UDP over IPv4/IPv6, or a later fragment (no ports) */
  TG_PKT_TCP = 1,                /* a TCP segment; all fields of struct tg_packet valid */
  TG_PKT_TCP_FIRST_FRAGMENT = 2, /* first fragment of a fragmented TCP datagram */
  TG_PKT_UDP = 3,                /* a UDP datagram (or its first fragment): key, offsets */
};

struct tg_packet {
  struct tg_flow_key key; /* this packet's tuple: source = client */
  __u32 ip_off;           /* offset of the IP header (ETH_HLEN) */
  __u32 l4_off;           /* offset of the TCP/UDP header from the start of the frame */
  __u32 payload_off;      /* offset of the TCP/UDP payload */
  __u32 payload_len;      /* from the IP lengths, not the frame length */
  __u32 seq;              /* TCP only, host byte order */
  __u32 ack_seq;          /* TCP only, host byte order */
  __u8 tcp_flags;         /* TCP only: FIN..CWR, byte 13 of the TCP header */
};

/* Returns the L4 offset and length, or 0 when the packet is not ours. */
static __always_inline int tg_parse_ipv4(struct __sk_buff* skb, struct tg_packet* pkt,
                                         __u32* l4_off, __u32* l4_len, __u8* proto) {
  struct iphdr ip;
  __u32 hlen, total;
  __u16 frag;

  if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip))) return TG_PKT_OTHER;
  if (ip.version != 4 || ip.ihl < 5) return TG_PKT_OTHER;
  if (ip.protocol != IPPROTO_TCP && ip.protocol != IPPROTO_UDP) return TG_PKT_OTHER;
  *proto = ip.protocol;
  frag = bpf_ntohs(ip.frag_off);
  if (frag & 0x1fff) return TG_PKT_OTHER; /* later fragment: carries no TCP header */
  hlen = (__u32)ip.ihl * 4;
  total = bpf_ntohs(ip.tot_len);
  if (total < hlen) return TG_PKT_OTHER;
  pkt->key.family = TG_AF_INET;
  pkt->key.saddr[0] = ip.saddr;
  pkt->key.daddr[0] = ip.daddr;
  *l4_off = ETH_HLEN + hlen;
  *l4_len = total - hlen;
  return (frag & 0x2000) ? TG_PKT_TCP_FIRST_FRAGMENT : TG_PKT_TCP;
}

struct tg_ipv6_opt_header {
  __u8 nexthdr;
  __u8 hdrlen;
};

struct tg_ipv6_frag_header {
  __u8 nexthdr;
  __u8 reserved;
  __be16 frag_off;
  __be32 identification;
};

static __always_inline int tg_parse_ipv6(struct __sk_buff* skb, struct tg_packet* pkt,
                                         __u32* l4_off, __u32* l4_len, __u8* proto) {
  struct ipv6hdr ip6;
  __u32 off = ETH_HLEN + sizeof(struct ipv6hdr);
  __u32 end;
  __u8 next;
  int kind = TG_PKT_TCP;
  int i;

  if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6))) return TG_PKT_OTHER;
  if (ip6.version != 6) return TG_PKT_OTHER;
  end = off + bpf_ntohs(ip6.payload_len);
  next = ip6.nexthdr;
  for (i = 0; i < TG_IPV6_MAX_EXT_HEADERS; i++) {
    if (next == IPPROTO_TCP || next == IPPROTO_UDP) break;
    if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS) {
      struct tg_ipv6_opt_header opt;

      if (bpf_skb_load_bytes(skb, off, &opt, sizeof(opt))) return TG_PKT_OTHER;
      off += ((__u32)opt.hdrlen + 1) * 8;
      next = opt.nexthdr;
    } else if (next == IPPROTO_FRAGMENT) {
      struct tg_ipv6_frag_header frag;
      __u16 frag_off;

      if (bpf_skb_load_bytes(skb, off, &frag, sizeof(frag))) return TG_PKT_OTHER;
      frag_off = bpf_ntohs(frag.frag_off);
      if (frag_off & 0xfff8) return TG_PKT_OTHER; /* later fragment */
      if (frag_off & 1) kind = TG_PKT_TCP_FIRST_FRAGMENT;
      off += sizeof(frag);
      next = frag.nexthdr;
    } else {
      return TG_PKT_OTHER;
    }
  }
  if ((next != IPPROTO_TCP && next != IPPROTO_UDP) || off > end) return TG_PKT_OTHER;
  *proto = next;
  pkt->key.family = TG_AF_INET6;
  __builtin_memcpy(pkt->key.saddr, &ip6.saddr, 16);
  __builtin_memcpy(pkt->key.daddr, &ip6.daddr, 16);
  *l4_off = off;
  *l4_len = end - off;
  return kind;
}

static __always_inline int tg_parse_udp(struct __sk_buff* skb, struct tg_packet* pkt, __u32 l4_off,
                                        __u32 l4_len) {
  struct udphdr udp;

  if (l4_len < sizeof(udp) || bpf_skb_load_bytes(skb, l4_off, &udp, sizeof(udp)))
    return TG_PKT_OTHER;
  pkt->key.sport = udp.source;
  pkt->key.dport = udp.dest;
  pkt->l4_off = l4_off;
  pkt->payload_off = l4_off + sizeof(udp);
  pkt->payload_len = l4_len - sizeof(udp);
  return TG_PKT_UDP;
}

/* Fills *pkt and returns an enum tg_packet_kind. */
static __always_inline int tg_parse_packet(struct __sk_buff* skb, struct tg_packet* pkt) {
  struct tcphdr tcp;
  __u32 l4_off = 0, l4_len = 0, doff;
  __u8 proto = 0;
  int kind;

  __builtin_memset(pkt, 0, sizeof(*pkt));
  pkt->ip_off = ETH_HLEN;
  if (skb->protocol == bpf_htons(ETH_P_IP))
    kind = tg_parse_ipv4(skb, pkt, &l4_off, &l4_len, &proto);
  else if (skb->protocol == bpf_htons(ETH_P_IPV6))
    kind = tg_parse_ipv6(skb, pkt, &l4_off, &l4_len, &proto);
  else
    return TG_PKT_OTHER;
  if (kind == TG_PKT_OTHER) return TG_PKT_OTHER;
  if (proto == IPPROTO_UDP) return tg_parse_udp(skb, pkt, l4_off, l4_len);

  if (bpf_skb_load_bytes(skb, l4_off, &tcp, sizeof(tcp))) return TG_PKT_OTHER;
  doff = (__u32)tcp.doff * 4;
  if (doff < sizeof(tcp) || doff > l4_len) return TG_PKT_OTHER;
  pkt->key.sport = tcp.source;
  pkt->key.dport = tcp.dest;
  pkt->l4_off = l4_off;
  pkt->payload_off = l4_off + doff;
  pkt->payload_len = l4_len - doff;
  pkt->seq = bpf_ntohl(tcp.seq);
  pkt->ack_seq = bpf_ntohl(tcp.ack_seq);
  pkt->tcp_flags = ((__u8*)&tcp)[13];
  return kind;
}

#endif /* TLSGATE_PARSE_PACKET_H */
