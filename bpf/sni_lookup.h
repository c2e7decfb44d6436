/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Is a ClientHello's SNI a bypassed name? The `sni_policy` lookup of
 * DESIGN.md §2, equal to policy::SniPattern::matches over the compiled
 * bypass patterns (tests/kernel checks both on the same names):
 *   - the whole name, against exact keys;
 *   - each label suffix after a dot ("b.example", "example" for
 *     "a.b.example"), against wildcard keys. The label before the dot is
 *     never empty (the parser refuses empty labels), so a wildcard never
 *     matches its apex.
 * Keys are the NUL-padded name: the scratch buffer holds the SNI followed by
 * TG_SNI_KEY_LEN zero bytes, so the key of the suffix starting at offset o is
 * simply &buf[o], a bounded offset the verifier can check. */
#ifndef TLSGATE_SNI_LOOKUP_H
#define TLSGATE_SNI_LOOKUP_H

#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "parse_clienthello.h"
#include "tlsgate_abi.h"

struct tg_sni_walk {
  const char* name; /* the scratch buffer: SNI, then zeros */
  __u32 len;
  __u32 allowed;
  __u32 rule_index; /* of the matching key, when allowed */
};

static inline long tg_sni_suffix_step(__u32 i, void* ctx) {
  struct tg_sni_walk* walk = (struct tg_sni_walk*)ctx;
  const struct tg_sni_value* value;

  if (i >= walk->len) return 1;
  if (walk->name[i & (TG_SNI_KEY_LEN - 1)] != '.') return 0;
  value = bpf_map_lookup_elem(&sni_policy, walk->name + ((i + 1) & (TG_SNI_KEY_LEN - 1)));
  if (value && (value->flags & TG_SNI_WILDCARD)) {
    walk->allowed = 1;
    walk->rule_index = value->rule_index;
    return 1;
  }
  return 0;
}

/* 1 when info's SNI (which must be known) matches `sni_policy`; then
 * *rule_index is the matching key's rule (for the decision record). */
static __always_inline int tg_sni_allowed(const struct tg_hello_info* info, __u32* rule_index) {
  __u32 zero = 0;
  struct tg_sni_scratch* buf = bpf_map_lookup_elem(&sni_scratch, &zero);
  const struct tg_sni_value* value;
  struct tg_sni_walk walk;

  if (!buf) return 0;
  __builtin_memcpy(buf->name, info->sni, TG_SNI_KEY_LEN);
  __builtin_memset(buf->name + TG_SNI_KEY_LEN, 0, TG_SNI_KEY_LEN);
  value = bpf_map_lookup_elem(&sni_policy, buf->name);
  if (value && (value->flags & TG_SNI_EXACT)) {
    *rule_index = value->rule_index;
    return 1;
  }

  walk.name = buf->name;
  walk.len = info->sni_len;
  walk.allowed = 0;
  walk.rule_index = TG_DECISION_NO_RULE;
  bpf_loop(TG_SNI_MAX, tg_sni_suffix_step, &walk, 0);
  if (walk.allowed) *rule_index = walk.rule_index;
  return walk.allowed;
}

_Static_assert(sizeof(((struct tg_hello_info*)0)->sni) == TG_SNI_KEY_LEN,
               "sni_policy keys are the parser's sni[] buffer");

#endif /* TLSGATE_SNI_LOOKUP_H */
