/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The kernel's classification of a BYPASS_VERIFY flow's first payload: copy
 * the first record's fragment out of the packet, run the shared parser on
 * it, look the SNI up in `sni_policy`, and apply hello_verdict.h. The
 * steering program acts on the verdict; hello_probe only reports it (tests,
 * bench). */
#ifndef TLSGATE_CLASSIFY_HELLO_H
#define TLSGATE_CLASSIFY_HELLO_H

#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "hello_verdict.h"
#include "maps.h"
#include "parse_clienthello.h"
#include "parse_packet.h"
#include "sni_lookup.h"
#include "tlsgate_abi.h"

/* Fills *info (a map value: too large for the stack) and returns an enum
 * tg_hello_verdict; *rule_index is the bypass rule of the matching
 * `sni_policy` key for TG_VERDICT_PASS, TG_DECISION_NO_RULE otherwise. */
static __always_inline __u32 tg_classify_first_payload(struct __sk_buff* skb,
                                                       const struct tg_packet* pkt,
                                                       struct tg_hello_info* info,
                                                       __u32* rule_index) {
  __u32 zero = 0;
  struct tg_hello_buf* buf = bpf_map_lookup_elem(&hello_scratch, &zero);
  __u8 record[TG_RECORD_HEADER_LEN] = {};
  __u32 fragment = 0;
  __u64 n;
  int status;

  *rule_index = TG_DECISION_NO_RULE;
  __builtin_memset(info, 0, sizeof(*info));
  if (!buf) {
    info->status = TG_HELLO_NEED_MORE;
    return TG_VERDICT_USERSPACE;
  }
  if (pkt->payload_len >= TG_RECORD_HEADER_LEN &&
      bpf_skb_load_bytes(skb, pkt->payload_off, record, sizeof(record)))
    status = TG_HELLO_NEED_MORE;
  else
    status = tg_first_fragment(record, pkt->payload_len, &fragment);
  /* 64-bit, and hidden from clang's range analysis: it knows that
   * tg_first_fragment() bounded it and would drop the check the verifier
   * needs on the very register passed to the helper. */
  n = fragment;
  asm volatile("" : "+r"(n));
  if (n > TG_HELLO_MAX) n = TG_HELLO_MAX;
  if (status == TG_HELLO_OK &&
      (n == 0 || bpf_skb_load_bytes(skb, pkt->payload_off + TG_RECORD_HEADER_LEN, buf->data, n)))
    status = TG_HELLO_NEED_MORE;
  if (status != TG_HELLO_OK) {
    info->status = (__u32)status;
    return tg_hello_verdict(info, 0);
  }
  tg_parse_client_hello(buf->data, (__u32)n, info);
  return tg_hello_verdict(info, tg_hello_sni_known(info) ? tg_sni_allowed(info, rule_index) : 0);
}

#endif /* TLSGATE_CLASSIFY_HELLO_H */
