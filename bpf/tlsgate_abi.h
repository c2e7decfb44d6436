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

/* What the kernel decided for a flow (value of the flow table). */
enum tg_flow_state {
  TG_FLOW_NONE = 0,
  TG_FLOW_STEER = 1,         /* delivered to the terminator listener */
  TG_FLOW_BYPASS = 2,        /* forwarded natively, never seen by userspace */
  TG_FLOW_BYPASS_VERIFY = 3, /* forwarded; SNI checked on first payload */
  TG_FLOW_FAIL_OPEN = 4,     /* would be steered, but no listener: forwarded */
  TG_FLOW_RESET = 5,         /* refused (fail_mode closed, SNI mismatch) */
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

/* Single-entry array map `gateway_config`, written by userspace at start and
 * on every reload. The program steers nothing until `enabled` is set. */
struct tg_gateway_config {
  __u32 enabled;
  __u32 steer_mark;  /* skb->mark for steered packets (policy routing) */
  __u32 fail_closed; /* 1: reset flows when no listener exists */
  __u16 listen_port; /* terminator listener port, host byte order */
  __u16 n_intercept_ports;
  __u16 intercept_ports[TG_MAX_INTERCEPT_PORTS]; /* host byte order */
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
  TG_CNT_MAX,
};

#endif /* TLSGATE_ABI_H */
