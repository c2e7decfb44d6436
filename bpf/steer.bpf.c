// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* TC ingress program of the LAN interfaces (DESIGN.md §2): decides on each
 * SYN to an intercept port whether the flow is bypassed (forwarded natively),
 * forwarded with its SNI still to be verified (a server address the
 * terminator learned to be bypass-only), or steered to the terminator
 * (bpf_sk_assign + skb->mark; a policy-routing rule delivers marked packets
 * locally); remembers the decision in `flows` and applies it to the flow's
 * later packets. UDP to an intercept port (QUIC) is refused with ICMP port
 * unreachable when the gateway config says so.
 *
 *   SYN ─► client_bypass / dst_bypass ────────────────────────► BYPASS
 *      ├─► learned bypass-only ─► BYPASS_VERIFY ─ first payload:
 *      │     SNI in sni_policy ───────────────────────────────► BYPASS
 *      │     other SNI, none, not a ClientHello ─► RESET (both ends; the
 *      │                                           address demoted to MIXED)
 *      │     SNI not in the first segment ─► NFQUEUE (userspace decides:
 *      │                                      BYPASS or RESET)
 *      ├─► terminator listener ───────────────────────────────► STEER
 *      └─► no listener: fail_mode ────────────────► FAIL_OPEN / RESET
 *
 * Each decision taken here alone (bypass on the SYN, the first payload's
 * verdict, fail_mode, QUIC refused) also goes to the `decisions` ring for the
 * event log; a full ring loses the record, never changes the verdict.
 *
 * hello_probe runs the same first-payload classification and only reports it
 * (tests and bench/); it is loaded and attached nowhere. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

/* libbpf's helper headers need the UAPI types above. */
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "classify_hello.h"
#include "icmp_unreach.h"
#include "maps.h"
#include "parse_clienthello.h"
#include "parse_packet.h"
#include "tcp_reset.h"
#include "tlsgate_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline void tg_count(__u32 counter) {
  __u64* value = bpf_map_lookup_elem(&counters, &counter);

  if (value) *value += 1;
}

static __always_inline int tg_is_intercept_port(const struct tg_gateway_config* cfg, __be16 dport) {
  __u16 port = bpf_ntohs(dport);
  int i;

#pragma unroll
  for (i = 0; i < TG_MAX_INTERCEPT_PORTS; i++) {
    if (i >= cfg->n_intercept_ports) break;
    if (cfg->intercept_ports[i] == port) return 1;
  }
  return 0;
}

/* The longest prefix of `addr` in the trie pair, or NULL. */
static __always_inline const struct tg_lpm_value* tg_in_lpm(void* trie_v4, void* trie_v6,
                                                            int family, const __u32* addr) {
  if (family == TG_AF_INET) {
    struct tg_lpm_v4_key key = {.prefixlen = 32};

    __builtin_memcpy(key.addr, addr, 4);
    return bpf_map_lookup_elem(trie_v4, &key);
  }
  struct tg_lpm_v6_key key6 = {.prefixlen = 128};

  __builtin_memcpy(key6.addr, addr, 16);
  return bpf_map_lookup_elem(trie_v6, &key6);
}

/* One record in `decisions`; `info` (may be NULL) gives the SNI checked. */
static __always_inline void tg_report(const struct tg_packet* pkt, __u8 kind, __u8 reason,
                                      __u32 rule_index, const struct tg_hello_info* info) {
  struct tg_decision* d = bpf_ringbuf_reserve(&decisions, sizeof(*d), 0);

  if (!d) {
    tg_count(TG_CNT_DECISIONS_DROPPED);
    return;
  }
  __builtin_memset(d, 0, sizeof(*d));
  d->ktime_ns = bpf_ktime_get_ns();
  __builtin_memcpy(d->saddr, pkt->key.saddr, sizeof(d->saddr));
  __builtin_memcpy(d->daddr, pkt->key.daddr, sizeof(d->daddr));
  d->sport = pkt->key.sport;
  d->dport = pkt->key.dport;
  d->family = pkt->key.family;
  d->kind = kind;
  d->reason = reason;
  d->rule_index = rule_index;
  if (info && info->has_sni) {
    __builtin_memcpy(d->sni, info->sni, TG_DECISION_SNI_LEN);
    d->sni_len = info->sni_len < TG_DECISION_SNI_LEN ? info->sni_len : TG_DECISION_SNI_LEN;
  }
  /* No wakeup per record: the reader drains the ring every poll interval, so
   * a SYN burst costs tlsgated one batch, not one wakeup per flow. */
  bpf_ringbuf_submit(d, BPF_RB_NO_WAKEUP);
}

/* Is the destination a bypass-only `learned` address whose entry is live? */
static __always_inline int tg_learned_bypass_only(const struct tg_packet* pkt) {
  struct tg_learned_key key = {};
  struct tg_learned_value* value;

  __builtin_memcpy(key.addr, pkt->key.daddr, sizeof(key.addr));
  key.port = pkt->key.dport;
  key.family = pkt->key.family;
  value = bpf_map_lookup_elem(&learned, &key);
  return value && value->verdict == TG_LEARNED_BYPASS_ONLY &&
         value->expires_ns > bpf_ktime_get_ns();
}

/* An SNI mismatch: the client's retry must reach the terminator. */
static __always_inline void tg_demote_learned(const struct tg_gateway_config* cfg,
                                              const struct tg_packet* pkt) {
  struct tg_learned_key key = {};
  struct tg_learned_value value = {};

  __builtin_memcpy(key.addr, pkt->key.daddr, sizeof(key.addr));
  key.port = pkt->key.dport;
  key.family = pkt->key.family;
  value.verdict = TG_LEARNED_MIXED;
  value.expires_ns = bpf_ktime_get_ns() + (__u64)cfg->learned_ttl_s * 1000000000ull;
  bpf_map_update_elem(&learned, &key, &value, BPF_ANY);
}

/* Creates or refreshes the flow's entry with a new decision. */
static __always_inline void tg_record_flow(struct __sk_buff* skb, const struct tg_packet* pkt,
                                           __u8 state, __u8 reason) {
  struct tg_flow_value* old = bpf_map_lookup_elem(&flows, &pkt->key);
  struct tg_flow_value value = {};
  __u64 now = bpf_ktime_get_ns();

  value.first_seen_ns = old ? old->first_seen_ns : now;
  value.last_seen_ns = now;
  value.packets = (old ? old->packets : 0) + 1;
  value.bytes = (old ? old->bytes : 0) + skb->len;
  value.state = state;
  value.reason = reason;
  bpf_map_update_elem(&flows, &pkt->key, &value, BPF_ANY);
}

static __always_inline void tg_fill_tuple(struct bpf_sock_tuple* tuple, const struct tg_packet* pkt,
                                          __u32* tuple_size) {
  if (pkt->key.family == TG_AF_INET) {
    tuple->ipv4.saddr = pkt->key.saddr[0];
    tuple->ipv4.daddr = pkt->key.daddr[0];
    tuple->ipv4.sport = pkt->key.sport;
    tuple->ipv4.dport = pkt->key.dport;
    *tuple_size = sizeof(tuple->ipv4);
  } else {
    __builtin_memcpy(tuple->ipv6.saddr, pkt->key.saddr, 16);
    __builtin_memcpy(tuple->ipv6.daddr, pkt->key.daddr, 16);
    tuple->ipv6.sport = pkt->key.sport;
    tuple->ipv6.dport = pkt->key.dport;
    *tuple_size = sizeof(tuple->ipv6);
  }
}

/* The terminator's socket for this packet's own tuple (a request socket or an
 * accepted connection), or NULL. Listeners are never returned: a listener
 * found this way is a local service on the destination port, not ours. */
static __always_inline struct bpf_sock* tg_lookup_flow_socket(struct __sk_buff* skb,
                                                              const struct tg_packet* pkt,
                                                              int accept_time_wait) {
  struct bpf_sock_tuple tuple = {};
  struct bpf_sock* sk;
  __u32 size;

  tg_fill_tuple(&tuple, pkt, &size);
  sk = bpf_skc_lookup_tcp(skb, &tuple, size, BPF_F_CURRENT_NETNS, 0);
  if (!sk) return NULL;
  if (sk->state == BPF_TCP_LISTEN || (!accept_time_wait && sk->state == BPF_TCP_TIME_WAIT)) {
    bpf_sk_release(sk);
    return NULL;
  }
  return sk;
}

/* The terminator listener: bound to 127.0.0.1 / ::1 on listen_port. The
 * lookup carries the client's address and port so that SO_REUSEPORT spreads
 * flows over the workers' listeners. */
static __always_inline struct bpf_sock* tg_lookup_listener(struct __sk_buff* skb,
                                                           const struct tg_gateway_config* cfg,
                                                           const struct tg_packet* pkt) {
  struct bpf_sock_tuple tuple = {};
  struct bpf_sock* sk;
  __u32 size;

  tg_fill_tuple(&tuple, pkt, &size);
  if (pkt->key.family == TG_AF_INET) {
    tuple.ipv4.daddr = bpf_htonl(0x7f000001);
    tuple.ipv4.dport = bpf_htons(cfg->listen_port);
  } else {
    __builtin_memset(tuple.ipv6.daddr, 0, sizeof(tuple.ipv6.daddr));
    tuple.ipv6.daddr[3] = bpf_htonl(1);
    tuple.ipv6.dport = bpf_htons(cfg->listen_port);
  }
  sk = bpf_skc_lookup_tcp(skb, &tuple, size, BPF_F_CURRENT_NETNS, 0);
  if (!sk) return NULL;
  if (sk->state != BPF_TCP_LISTEN) {
    bpf_sk_release(sk);
    return NULL;
  }
  return sk;
}

/* Hands the packet to `sk` (consumed). Returns bpf_sk_assign's result. */
static __always_inline long tg_assign(struct __sk_buff* skb, const struct tg_gateway_config* cfg,
                                      struct bpf_sock* sk) {
  long err = bpf_sk_assign(skb, sk, 0);

  bpf_sk_release(sk);
  if (err) {
    tg_count(TG_CNT_ASSIGN_ERRORS);
    return err;
  }
  skb->mark = cfg->steer_mark;
  tg_count(TG_CNT_STEERED_PACKETS);
  return 0;
}

/* The per-SYN decision: client bypass, destination bypass, learned
 * bypass-only destination, else steer to the terminator listener; without a
 * listener, fail_mode decides. */
static __always_inline int decide_syn(struct __sk_buff* skb, const struct tg_gateway_config* cfg,
                                      const struct tg_packet* pkt) {
  const struct tg_lpm_value* bypass;
  struct bpf_sock* sk;
  __u8 reason;

  tg_count(TG_CNT_SYN_SEEN);
  bypass = tg_in_lpm(&client_bypass_v4, &client_bypass_v6, pkt->key.family, pkt->key.saddr);
  if (bypass) {
    tg_record_flow(skb, pkt, TG_FLOW_BYPASS, TG_REASON_CLIENT_BYPASS);
    tg_count(TG_CNT_BYPASS_CLIENT);
    tg_count(TG_CNT_BYPASS_PACKETS);
    tg_report(pkt, TG_DECISION_BYPASS_CLIENT, TG_REASON_CLIENT_BYPASS, bypass->rule_index, NULL);
    return TC_ACT_OK;
  }
  bypass = tg_in_lpm(&dst_bypass_v4, &dst_bypass_v6, pkt->key.family, pkt->key.daddr);
  if (bypass) {
    tg_record_flow(skb, pkt, TG_FLOW_BYPASS, TG_REASON_DST_BYPASS);
    tg_count(TG_CNT_BYPASS_DST);
    tg_count(TG_CNT_BYPASS_PACKETS);
    tg_report(pkt, TG_DECISION_BYPASS_DST, TG_REASON_DST_BYPASS, bypass->rule_index, NULL);
    return TC_ACT_OK;
  }

  /* A retransmitted SYN belongs to the request socket already created (even
   * if the address became bypass-only meanwhile). */
  sk = tg_lookup_flow_socket(skb, pkt, 0);
  if (!sk && tg_learned_bypass_only(pkt)) {
    tg_record_flow(skb, pkt, TG_FLOW_BYPASS_VERIFY, TG_REASON_LEARNED_BYPASS);
    tg_count(TG_CNT_LEARNED_FLOWS);
    tg_count(TG_CNT_BYPASS_PACKETS);
    return TC_ACT_OK;
  }
  if (!sk) sk = tg_lookup_listener(skb, cfg, pkt);
  if (sk) {
    if (tg_assign(skb, cfg, sk) == 0) {
      tg_record_flow(skb, pkt, TG_FLOW_STEER, TG_REASON_STEERED);
      tg_count(TG_CNT_STEERED_FLOWS);
      return TC_ACT_OK;
    }
    reason = TG_REASON_ASSIGN_FAILED;
  } else {
    tg_count(TG_CNT_NO_LISTENER);
    reason = TG_REASON_NO_LISTENER;
  }

  if (cfg->fail_closed) {
    tg_record_flow(skb, pkt, TG_FLOW_RESET, reason);
    tg_count(TG_CNT_FAIL_CLOSED_RESETS);
    tg_report(pkt, TG_DECISION_FAIL_CLOSED, reason, TG_DECISION_NO_RULE, NULL);
    return tg_reply_rst(skb, pkt);
  }
  tg_record_flow(skb, pkt, TG_FLOW_FAIL_OPEN, reason);
  tg_report(pkt, TG_DECISION_FAIL_OPEN, reason, TG_DECISION_NO_RULE, NULL);
  return TC_ACT_OK;
}

/* The first payload of a BYPASS_VERIFY flow decides it (hello_verdict.h). */
static __always_inline int verify_first_payload(struct __sk_buff* skb,
                                                const struct tg_gateway_config* cfg,
                                                const struct tg_packet* pkt,
                                                struct tg_flow_value* flow) {
  __u32 zero = 0;
  struct tg_hello_info* info = bpf_map_lookup_elem(&hello_results, &zero);
  __u32 verdict, rule_index;

  if (!info) return TC_ACT_SHOT;
  verdict = tg_classify_first_payload(skb, pkt, info, &rule_index);
  if (verdict == TG_VERDICT_PASS) {
    flow->state = TG_FLOW_BYPASS;
    tg_count(TG_CNT_SNI_VERIFIED);
    tg_count(TG_CNT_BYPASS_PACKETS);
    tg_report(pkt, TG_DECISION_VERIFY_PASS, TG_REASON_LEARNED_BYPASS, rule_index, info);
    return TC_ACT_OK;
  }
  if (verdict == TG_VERDICT_USERSPACE) {
    flow->state = TG_FLOW_NFQUEUE;
    flow->reason = TG_REASON_NFQUEUE;
    skb->mark = cfg->nfq_mark;
    tg_count(TG_CNT_NFQUEUE_FLOWS);
    tg_count(TG_CNT_NFQUEUE_PACKETS);
    return TC_ACT_OK;
  }
  flow->state = TG_FLOW_RESET;
  flow->reason = TG_REASON_SNI_MISMATCH;
  tg_demote_learned(cfg, pkt);
  tg_count(TG_CNT_SNI_RESETS);
  tg_report(pkt, TG_DECISION_VERIFY_RESET, TG_REASON_SNI_MISMATCH, TG_DECISION_NO_RULE, info);
  return tg_reset_both_ways(skb, pkt);
}

/* Any packet but a SYN: follow the decision taken on the SYN. */
static __always_inline int follow_flow(struct __sk_buff* skb, const struct tg_gateway_config* cfg,
                                       const struct tg_packet* pkt) {
  struct tg_flow_value* flow = bpf_map_lookup_elem(&flows, &pkt->key);
  struct bpf_sock* sk;
  __u8 state;

  if (!flow) {
    /* Not tracked (started before the daemon, or evicted): steer it if the
     * terminator owns a socket for it, else leave it to the router. */
    sk = tg_lookup_flow_socket(skb, pkt, 1);
    if (sk && tg_assign(skb, cfg, sk) == 0 && !(pkt->tcp_flags & TG_TCP_RST))
      tg_record_flow(skb, pkt, TG_FLOW_STEER, TG_REASON_STEERED);
    return TC_ACT_OK;
  }

  state = flow->state;
  __sync_fetch_and_add(&flow->packets, 1);
  __sync_fetch_and_add(&flow->bytes, skb->len);
  flow->last_seen_ns = bpf_ktime_get_ns();
  if (pkt->tcp_flags & TG_TCP_RST) bpf_map_delete_elem(&flows, &pkt->key);

  switch (state) {
    case TG_FLOW_STEER:
      sk = tg_lookup_flow_socket(skb, pkt, 1);
      if (sk) tg_assign(skb, cfg, sk);
      return TC_ACT_OK;
    case TG_FLOW_RESET:
      /* A RST passes (our own, re-entering on its way to the server); the
       * rest is answered as a closed port would, so the client stops. */
      if (pkt->tcp_flags & TG_TCP_RST) return TC_ACT_OK;
      tg_count(TG_CNT_RESET_REPLIES);
      return tg_reply_rst(skb, pkt);
    case TG_FLOW_BYPASS_VERIFY:
      if (pkt->payload_len > 0 && !(pkt->tcp_flags & TG_TCP_RST))
        return verify_first_payload(skb, cfg, pkt, flow);
      tg_count(TG_CNT_BYPASS_PACKETS);
      return TC_ACT_OK;
    case TG_FLOW_NFQUEUE:
      /* Everything carrying sequence space waits in the queue behind the
       * first segment; pure ACKs need no verdict. */
      if (!(pkt->tcp_flags & TG_TCP_RST) &&
          (pkt->payload_len > 0 || (pkt->tcp_flags & TG_TCP_FIN))) {
        skb->mark = cfg->nfq_mark;
        tg_count(TG_CNT_NFQUEUE_PACKETS);
      }
      return TC_ACT_OK;
    case TG_FLOW_BYPASS:
      tg_count(TG_CNT_BYPASS_PACKETS);
      return TC_ACT_OK;
    default:
      return TC_ACT_OK;
  }
}

/* QUIC: refused for clients subject to inspection, so that browsers fall
 * back to TCP + TLS at once. Bypassed clients and destinations keep it. */
static __always_inline int decide_udp(struct __sk_buff* skb, const struct tg_gateway_config* cfg,
                                      const struct tg_packet* pkt) {
  if (!cfg->quic_block) return TC_ACT_OK;
  if (tg_in_lpm(&client_bypass_v4, &client_bypass_v6, pkt->key.family, pkt->key.saddr) ||
      tg_in_lpm(&dst_bypass_v4, &dst_bypass_v6, pkt->key.family, pkt->key.daddr))
    return TC_ACT_OK;
  tg_count(TG_CNT_QUIC_REFUSED);
  tg_report(pkt, TG_DECISION_QUIC_REFUSED, TG_REASON_NONE, TG_DECISION_NO_RULE, NULL);
  return tg_reply_port_unreachable(skb, pkt);
}

SEC("tc")
int steer(struct __sk_buff* skb) {
  __u32 zero = 0;
  const struct tg_gateway_config* cfg = bpf_map_lookup_elem(&gateway_config, &zero);
  struct tg_packet pkt;
  int kind;

  if (!cfg || !cfg->enabled) return TC_ACT_OK;
  kind = tg_parse_packet(skb, &pkt);
  if (kind == TG_PKT_OTHER || !tg_is_intercept_port(cfg, pkt.key.dport)) return TC_ACT_OK;
  if (kind == TG_PKT_UDP) return decide_udp(skb, cfg, &pkt);
  tg_count(TG_CNT_PACKETS);
  if (kind == TG_PKT_TCP_FIRST_FRAGMENT) {
    /* Forwarding it would let a client evade inspection by fragmenting. */
    tg_count(TG_CNT_FRAGMENTS_DROPPED);
    return TC_ACT_SHOT;
  }
  if ((pkt.tcp_flags & (TG_TCP_SYN | TG_TCP_ACK)) == TG_TCP_SYN) return decide_syn(skb, cfg, &pkt);
  return follow_flow(skb, cfg, &pkt);
}

/* Classifies the first payload of this packet as if it belonged to a
 * BYPASS_VERIFY flow, and stores the parse result (hello_results) and the
 * verdict (hello_verdicts) for this CPU. */
SEC("tc")
int hello_probe(struct __sk_buff* skb) {
  __u32 zero = 0;
  struct tg_hello_info* info = bpf_map_lookup_elem(&hello_results, &zero);
  __u32* verdict = bpf_map_lookup_elem(&hello_verdicts, &zero);
  struct tg_packet pkt;
  __u32 rule_index;

  if (!info || !verdict) return TC_ACT_OK;
  if (tg_parse_packet(skb, &pkt) != TG_PKT_TCP) {
    __builtin_memset(info, 0, sizeof(*info));
    info->status = TG_HELLO_NOT_CLIENT_HELLO;
    *verdict = TG_VERDICT_RESET;
    return TC_ACT_OK;
  }
  *verdict = tg_classify_first_payload(skb, &pkt, info, &rule_index);
  return TC_ACT_OK;
}
