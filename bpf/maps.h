/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every map of the steering object, in one place. Keys and values are the
 * ABI structs of tlsgate_abi.h (userspace reads and writes them through the
 * skeleton); the hello_* maps are per-CPU scratch for the ClientHello probe. */
#ifndef TLSGATE_MAPS_H
#define TLSGATE_MAPS_H

#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "parse_clienthello.h"
#include "tlsgate_abi.h"

/* The kernel's decision per flow, keyed by the client->server 5-tuple. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, TG_FLOW_TABLE_SIZE);
  __type(key, struct tg_flow_key);
  __type(value, struct tg_flow_value);
} flows SEC(".maps");

/* Clients whose flows are never inspected (IoT, printers), by source prefix. */
struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, TG_LPM_MAX_ENTRIES);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct tg_lpm_v4_key);
  __type(value, struct tg_lpm_value);
} client_bypass_v4 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, TG_LPM_MAX_ENTRIES);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct tg_lpm_v6_key);
  __type(value, struct tg_lpm_value);
} client_bypass_v6 SEC(".maps");

/* Servers that are never inspected (banking, pinned apps), by destination prefix. */
struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, TG_LPM_MAX_ENTRIES);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct tg_lpm_v4_key);
  __type(value, struct tg_lpm_value);
} dst_bypass_v4 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, TG_LPM_MAX_ENTRIES);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct tg_lpm_v6_key);
  __type(value, struct tg_lpm_value);
} dst_bypass_v6 SEC(".maps");

/* What the terminator learned per server address and port (written by
 * userspace; the kernel only demotes an entry to MIXED on an SNI mismatch). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, TG_LEARNED_SIZE);
  __type(key, struct tg_learned_key);
  __type(value, struct tg_learned_value);
} learned SEC(".maps");

/* The bypassed names, checked on a BYPASS_VERIFY flow's first payload. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, TG_SNI_POLICY_SIZE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct tg_sni_key);
  __type(value, struct tg_sni_value);
} sni_policy SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct tg_gateway_config);
} gateway_config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, TG_CNT_MAX);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

/* Decisions the kernel takes alone, for the event log (struct tg_decision). */
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, TG_DECISION_RING_SIZE);
} decisions SEC(".maps");

/* A ClientHello copied out of the packet: the parser masks its indexes into
 * this power-of-two buffer. */
struct tg_hello_buf {
  __u8 data[TG_HELLO_MAX];
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct tg_hello_buf);
} hello_scratch SEC(".maps");

/* The SNI followed by as many zero bytes (sni_lookup.h): a key for every
 * label suffix starts inside it at a bounded offset, with its padding. */
struct tg_sni_scratch {
  char name[2 * TG_SNI_KEY_LEN];
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct tg_sni_scratch);
} sni_scratch SEC(".maps");

/* The last verdict of hello_probe on this CPU (enum tg_hello_verdict). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} hello_verdicts SEC(".maps");

/* The last parse result of hello_probe on this CPU. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct tg_hello_info);
} hello_results SEC(".maps");

#endif /* TLSGATE_MAPS_H */
