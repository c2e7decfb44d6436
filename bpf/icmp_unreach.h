/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Refuses a UDP datagram the way a closed port does: rewritten in place as
 * ICMP port unreachable (ICMPv6 type 1 code 4), from the datagram's
 * destination back to its source, quoting the IP header and the UDP header
 * (all a client's stack needs to fail the right socket), and sent out of the
 * interface it came in on. Used for QUIC (DESIGN.md §2): the browser falls
 * back to TCP at once instead of waiting for its QUIC handshake to time out.
 * Datagrams with IPv4 options or IPv6 extension headers are dropped without
 * an answer (no client sends QUIC like that). */
#ifndef TLSGATE_ICMP_UNREACH_H
#define TLSGATE_ICMP_UNREACH_H

#include <linux/bpf.h>
#include <linux/icmpv6.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "parse_packet.h"
#include "tcp_reset.h"

#define TG_UDP_QUOTE 8 /* the UDP header */

/* <linux/icmp.h> drags in libc headers (via <linux/if.h>): RFC 792 here. */
#define TG_ICMP_DEST_UNREACH 3
#define TG_ICMP_PORT_UNREACH 3

struct tg_icmphdr {
  __u8 type;
  __u8 code;
  __u16 checksum;
  __u32 unused;
};

struct tg_icmp4_unreach {
  struct iphdr ip;
  struct tg_icmphdr icmp;
  struct iphdr quoted_ip;
  __u8 quoted_l4[TG_UDP_QUOTE];
};

struct tg_icmp6_unreach {
  struct ipv6hdr ip6;
  struct icmp6hdr icmp6;
  struct ipv6hdr quoted_ip6;
  __u8 quoted_l4[TG_UDP_QUOTE];
};

static __always_inline int tg_write_icmp4_unreach(struct __sk_buff* skb) {
  struct tg_icmp4_unreach m;

  __builtin_memset(&m, 0, sizeof(m));
  if (bpf_skb_load_bytes(skb, ETH_HLEN, &m.quoted_ip, sizeof(m.quoted_ip)) ||
      bpf_skb_load_bytes(skb, ETH_HLEN + sizeof(m.quoted_ip), m.quoted_l4, TG_UDP_QUOTE))
    return -1;
  if (m.quoted_ip.ihl != 5) return -1;
  m.ip.version = 4;
  m.ip.ihl = 5;
  m.ip.tot_len = bpf_htons(sizeof(m));
  m.ip.ttl = TG_RST_TTL;
  m.ip.protocol = IPPROTO_ICMP;
  m.ip.saddr = m.quoted_ip.daddr;
  m.ip.daddr = m.quoted_ip.saddr;
  m.ip.check = tg_csum_fold(tg_csum_add(0, &m.ip, sizeof(m.ip) / 2));
  m.icmp.type = TG_ICMP_DEST_UNREACH;
  m.icmp.code = TG_ICMP_PORT_UNREACH;
  m.icmp.checksum = tg_csum_fold(tg_csum_add(0, &m.icmp, (sizeof(m) - sizeof(m.ip)) / 2));

  if (bpf_skb_change_tail(skb, ETH_HLEN + sizeof(m), 0)) return -1;
  return bpf_skb_store_bytes(skb, ETH_HLEN, &m, sizeof(m), 0);
}

static __always_inline int tg_write_icmp6_unreach(struct __sk_buff* skb,
                                                  const struct tg_packet* pkt) {
  struct tg_icmp6_unreach m;
  __u32 sum;

  if (pkt->l4_off != ETH_HLEN + sizeof(struct ipv6hdr)) return -1; /* extension headers */
  __builtin_memset(&m, 0, sizeof(m));
  if (bpf_skb_load_bytes(skb, ETH_HLEN, &m.quoted_ip6, sizeof(m.quoted_ip6)) ||
      bpf_skb_load_bytes(skb, pkt->l4_off, m.quoted_l4, TG_UDP_QUOTE))
    return -1;
  m.ip6.version = 6;
  m.ip6.payload_len = bpf_htons(sizeof(m) - sizeof(m.ip6));
  m.ip6.nexthdr = IPPROTO_ICMPV6;
  m.ip6.hop_limit = TG_RST_TTL;
  m.ip6.saddr = m.quoted_ip6.daddr;
  m.ip6.daddr = m.quoted_ip6.saddr;
  m.icmp6.icmp6_type = ICMPV6_DEST_UNREACH;
  m.icmp6.icmp6_code = ICMPV6_PORT_UNREACH;
  /* pseudo-header: saddr, daddr, upper-layer length, next header */
  sum = tg_csum_add(0, &m.ip6.saddr, 16);
  sum += bpf_htons(sizeof(m) - sizeof(m.ip6)) + bpf_htons(IPPROTO_ICMPV6);
  m.icmp6.icmp6_cksum = tg_csum_fold(tg_csum_add(sum, &m.icmp6, (sizeof(m) - sizeof(m.ip6)) / 2));

  if (bpf_skb_change_tail(skb, ETH_HLEN + sizeof(m), 0)) return -1;
  return bpf_skb_store_bytes(skb, ETH_HLEN, &m, sizeof(m), 0);
}

/* Returns the TC verdict: the ICMP error redirected out of the ingress
 * interface, or SHOT when the datagram could not be rewritten. */
static __always_inline int tg_reply_port_unreachable(struct __sk_buff* skb,
                                                     const struct tg_packet* pkt) {
  int err = pkt->key.family == TG_AF_INET ? tg_write_icmp4_unreach(skb)
                                          : tg_write_icmp6_unreach(skb, pkt);

  if (err || tg_swap_macs(skb)) return TC_ACT_SHOT;
  return bpf_redirect(skb->ifindex, 0);
}

#endif /* TLSGATE_ICMP_UNREACH_H */
