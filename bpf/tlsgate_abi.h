/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The map ABI shared by the eBPF programs and userspace: every key, value and
 * enum that crosses the kernel/userspace boundary is defined here, once.
 * Plain C with UAPI types only, so it compiles for -target bpf and in C++. */
#ifndef TLSGATE_ABI_H
#define TLSGATE_ABI_H

#include <linux/types.h>

#define TG_MAX_INTERCEPT_PORTS 8
#define TG_FLOW_TABLE_SIZE 262144
#define TG_LPM_MAX_ENTRIES 16384
#define TG_LEARNED_SIZE 65536
#define TG_SNI_POLICY_SIZE 16384
#define TG_SNI_KEY_LEN 256 /* TG_SNI_MAX + NUL, rounded: the parser's sni[] size */

/* What the kernel decided for a flow (value of the flow table). */
enum tg_flow_state {
  TG_FLOW_NONE = 0,
  TG_FLOW_STEER = 1,         /* delivered to the terminator listener */
  TG_FLOW_BYPASS = 2,        /* forwarded natively, never seen by userspace */
  TG_FLOW_BYPASS_VERIFY = 3, /* forwarded; SNI checked on first payload */
  TG_FLOW_FAIL_OPEN = 4,     /* would be steered, but no listener: forwarded */
  TG_FLOW_RESET = 5,         /* refused (fail_mode closed, SNI mismatch) */
  TG_FLOW_NFQUEUE = 6,       /* BYPASS_VERIFY whose ClientHello the BPF parser could not
                                finish: packets go to userspace (NFQUEUE) until it decides */
};

/* Why the kernel decided it (for counters and flow listings). */
enum tg_flow_reason {
  TG_REASON_NONE = 0,
  TG_REASON_CLIENT_BYPASS = 1,
  TG_REASON_DST_BYPASS = 2,
  TG_REASON_LEARNED_BYPASS = 3,
  TG_REASON_STEERED = 4,
  TG_REASON_NO_LISTENER = 5,
  TG_REASON_ASSIGN_FAILED = 6, /* a listener existed but bpf_sk_assign refused it */
  TG_REASON_SNI_MISMATCH = 7,  /* BYPASS_VERIFY whose SNI is not a bypassed name */
  TG_REASON_NFQUEUE = 8,       /* BYPASS_VERIFY handed to userspace (NFQUEUE) */
};

/* 5-tuple; addresses in network byte order, IPv4 in addr[0] with the rest 0. */
struct tg_flow_key {
  __u32 saddr[4];
  __u32 daddr[4];
  __u16 sport; /* network byte order */
  __u16 dport; /* network byte order */
  __u8 family; /* AF_INET (2) or AF_INET6 (10) */
  __u8 pad[3];
};

struct tg_flow_value {
  __u64 first_seen_ns; /* bpf_ktime_get_ns() */
  __u64 last_seen_ns;
  __u64 packets;
  __u64 bytes;
  __u8 state;  /* enum tg_flow_state */
  __u8 reason; /* enum tg_flow_reason */
  __u8 pad[6];
};

/* LPM trie keys for client_bypass_v4/v6 and dst_bypass_v4/v6. */
struct tg_lpm_v4_key {
  __u32 prefixlen;
  __u8 addr[4];
};

struct tg_lpm_v6_key {
  __u32 prefixlen;
  __u8 addr[16];
};

/* Value of the LPM tries: which rule put the entry there (index in config). */
struct tg_lpm_value {
  __u32 rule_index;
};

/* `learned` (LRU hash): what the terminator learned about a server address
 * and port from the SNIs it classified there (DESIGN.md §2). BYPASS_ONLY:
 * only bypassed names were seen, each proven to be served there by a probe;
 * the kernel then forwards new flows itself and checks their SNI. MIXED: an
 * inspected or blocked flow (or an SNI mismatch) was seen; flows are steered. */
enum tg_learned_verdict {
  TG_LEARNED_MIXED = 1,
  TG_LEARNED_BYPASS_ONLY = 2,
};

struct tg_learned_key {
  __u32 addr[4]; /* network byte order, IPv4 in addr[0] with the rest 0 */
  __u16 port;    /* network byte order */
  __u8 family;   /* AF_INET (2) or AF_INET6 (10) */
  __u8 pad;
};

struct tg_learned_value {
  __u64 expires_ns; /* CLOCK_MONOTONIC, as bpf_ktime_get_ns() */
  __u32 verdict;    /* enum tg_learned_verdict */
  __u32 pad;
};

/* `sni_policy` (hash): the names a ClientHello may carry for the kernel to
 * keep forwarding a BYPASS_VERIFY flow, compiled from the bypass rules.
 * Key: a lower-cased name, NUL padded. An exact pattern "a.example" is the
 * key "a.example" with TG_SNI_EXACT; a wildcard "*.example" is the key
 * "example" with TG_SNI_WILDCARD, matched by every label suffix of the SNI
 * (never by the SNI itself: "*.example" does not match "example"). */
#define TG_SNI_EXACT 1u
#define TG_SNI_WILDCARD 2u

struct tg_sni_key {
  char name[TG_SNI_KEY_LEN];
};

struct tg_sni_value {
  __u32 flags;      /* TG_SNI_EXACT | TG_SNI_WILDCARD */
  __u32 rule_index; /* first rule that put the key there (index in config) */
};

/* Single-entry array map `gateway_config`, written by userspace at start and
 * on every reload. The program steers nothing until `enabled` is set. */
struct tg_gateway_config {
  __u32 enabled;
  __u32 steer_mark;  /* skb->mark for steered packets (policy routing) */
  __u32 fail_closed; /* 1: reset flows when no listener exists */
  __u16 listen_port; /* terminator listener port, host byte order */
  __u16 n_intercept_ports;
  __u16 intercept_ports[TG_MAX_INTERCEPT_PORTS]; /* host byte order */
  __u32 nfq_mark;      /* skb->mark of packets handed to userspace (NFQUEUE rule) */
  __u32 quic_block;    /* 1: refuse UDP to intercept ports (ICMP port unreachable) */
  __u32 learned_ttl_s; /* lifetime of a `learned` entry the kernel demotes */
};

/* Per-CPU array map `counters`, indexed by enum tg_counter. */
enum tg_counter {
  TG_CNT_PACKETS = 0,        /* TCP packets to an intercept port, while enabled */
  TG_CNT_SYN_SEEN,           /* SYNs (without ACK) among them */
  TG_CNT_STEERED_FLOWS,      /* SYNs assigned to the terminator listener */
  TG_CNT_STEERED_PACKETS,    /* packets assigned to a terminator socket (SYNs included) */
  TG_CNT_BYPASS_CLIENT,      /* flows bypassed by client_bypass */
  TG_CNT_BYPASS_DST,         /* flows bypassed by dst_bypass */
  TG_CNT_BYPASS_PACKETS,     /* packets of bypassed flows (SYNs included) */
  TG_CNT_NO_LISTENER,        /* SYNs to steer with no terminator listener */
  TG_CNT_FAIL_CLOSED_RESETS, /* RSTs sent because fail_closed (no listener, assign failed) */
  TG_CNT_ASSIGN_ERRORS,      /* bpf_sk_assign failures */
  TG_CNT_FRAGMENTS_DROPPED,  /* first fragments of fragmented TCP to an intercept port */
  TG_CNT_LEARNED_FLOWS,      /* SYNs to a bypass-only `learned` address: BYPASS_VERIFY */
  TG_CNT_SNI_VERIFIED,       /* BYPASS_VERIFY flows whose SNI the kernel matched: BYPASS */
  TG_CNT_SNI_RESETS,         /* BYPASS_VERIFY flows reset by the kernel (SNI mismatch) */
  TG_CNT_NFQUEUE_FLOWS,      /* BYPASS_VERIFY flows handed to userspace through NFQUEUE */
  TG_CNT_NFQUEUE_PACKETS,    /* packets marked for NFQUEUE */
  TG_CNT_RESET_REPLIES,      /* RSTs answering later packets of a reset flow */
  TG_CNT_QUIC_REFUSED,       /* UDP datagrams to an intercept port refused (ICMP) */
  TG_CNT_DECISIONS_DROPPED,  /* decision records lost because `decisions` was full */
  TG_CNT_MAX,
};

/* Ring buffer `decisions`: one record per decision the kernel takes alone
 * (no terminator involved), turned into a `flow` event by userspace
 * (DESIGN.md §7). A full ring drops the record, never the packet: the loss is
 * counted in TG_CNT_DECISIONS_DROPPED. */
#define TG_DECISION_RING_SIZE (256 * 1024) /* bytes, a power of two of pages */
#define TG_DECISION_SNI_LEN 64             /* SNI bytes carried (longer names cut) */
#define TG_DECISION_NO_RULE 0xffffffffu    /* rule_index when no map value named one */

enum tg_decision_kind {
  TG_DECISION_BYPASS_CLIENT = 1, /* SYN: client_bypass prefix */
  TG_DECISION_BYPASS_DST = 2,    /* SYN: dst_bypass prefix */
  TG_DECISION_VERIFY_PASS = 3,   /* BYPASS_VERIFY first payload: a bypassed name */
  TG_DECISION_VERIFY_RESET = 4,  /* BYPASS_VERIFY first payload: any other (reset) */
  TG_DECISION_FAIL_OPEN = 5,     /* SYN to steer, no usable listener: forwarded */
  TG_DECISION_FAIL_CLOSED = 6,   /* SYN to steer, no usable listener: reset */
  TG_DECISION_QUIC_REFUSED = 7,  /* UDP to an intercept port: ICMP port unreachable */
};

struct tg_decision {
  __u64 ktime_ns; /* bpf_ktime_get_ns() */
  __u32 saddr[4]; /* network byte order, IPv4 in [0] with the rest 0 */
  __u32 daddr[4];
  __u16 sport;      /* network byte order */
  __u16 dport;      /* network byte order */
  __u8 family;      /* AF_INET (2) or AF_INET6 (10) */
  __u8 kind;        /* enum tg_decision_kind */
  __u8 reason;      /* enum tg_flow_reason (fail_open/closed: why no listener) */
  __u8 sni_len;     /* bytes of sni[] used; 0: no SNI known */
  __u32 rule_index; /* from the LPM or sni_policy value, or TG_DECISION_NO_RULE */
  char sni[TG_DECISION_SNI_LEN];
  __u32 pad;
};

#ifdef __cplusplus
static_assert(sizeof(struct tg_decision) == 120, "tg_decision is kernel/userspace ABI");
#else
_Static_assert(sizeof(struct tg_decision) == 120, "tg_decision is kernel/userspace ABI");
#endif

/* What a BYPASS_VERIFY flow's first payload decides (hello_verdict.h). */
enum tg_hello_verdict {
  TG_VERDICT_PASS = 1,      /* the SNI is a bypassed name: forward the flow */
  TG_VERDICT_RESET = 2,     /* not a bypassed name (or no SNI, or not a ClientHello) */
  TG_VERDICT_USERSPACE = 3, /* the SNI is not in these bytes: NFQUEUE decides */
};

/* sk_skb splice (splice.bpf.c): the `splice_peers` value of a socket in the
 * `splice_socks` sockhash, keyed by its socket cookie. */
struct tg_splice_peer {
  __u64 peer_cookie; /* where this socket's received bytes are redirected */
  __u64 bytes;       /* bytes redirected so far */
};

#endif /* TLSGATE_ABI_H */
