/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The decision on a BYPASS_VERIFY flow's first payload (DESIGN.md §2), in
 * one definition compiled into the BPF object (steer.bpf.c) and into
 * userspace (the NFQUEUE classifier), so that the kernel and userspace decide
 * the same bytes the same way:
 *
 * - the first TLS record of the segment is parsed (a handshake message that
 *   continues in a later record or segment is parsed as far as it goes);
 * - once the SNI is known it decides alone: a bypassed name passes, any other
 *   name resets. A defect after the SNI in a message that is not complete yet
 *   does not change that (the server refuses such a ClientHello itself);
 * - a ClientHello that is complete without SNI, is malformed, too large, or
 *   is not TLS at all resets: it claims no bypassed name;
 * - a ClientHello whose SNI is not in these bytes goes to userspace. */
#ifndef TLSGATE_HELLO_VERDICT_H
#define TLSGATE_HELLO_VERDICT_H

#include <linux/types.h>

#include "parse_clienthello.h"
#include "tlsgate_abi.h"

/* From the first 5 payload bytes (`header`, valid when payload_len >= 5):
 * TG_HELLO_OK with *n = how many bytes of the first record's fragment this
 * segment holds (to be parsed as the start of the handshake message), or the
 * final status without *n. */
static __always_inline int tg_first_fragment(const __u8* header, __u32 payload_len, __u32* n) {
  __u32 fragment_len = 0, avail;
  int status;

  *n = 0;
  if (payload_len < TG_RECORD_HEADER_LEN) return TG_HELLO_NEED_MORE;
  status = tg_parse_record_header(header, TG_RECORD_HEADER_LEN, &fragment_len);
  if (status != TG_HELLO_OK) return status;
  if (fragment_len == 0) return TG_HELLO_MALFORMED; /* RFC 8446 §5.1 */
  avail = payload_len - TG_RECORD_HEADER_LEN;
  if (avail > fragment_len) avail = fragment_len;
  if (avail > TG_HELLO_MAX) avail = TG_HELLO_MAX;
  if (avail == 0) return TG_HELLO_NEED_MORE;
  *n = avail;
  return TG_HELLO_OK;
}

/* Is the SNI known (validated) in this parse result? */
static __always_inline int tg_hello_sni_known(const struct tg_hello_info* info) {
  return info->has_sni && (info->status == TG_HELLO_OK || info->status == TG_HELLO_NEED_MORE);
}

/* `sni_allowed`: whether the SNI is a bypassed name (only read when known). */
static __always_inline __u32 tg_hello_verdict(const struct tg_hello_info* info, int sni_allowed) {
  if (tg_hello_sni_known(info)) return sni_allowed ? TG_VERDICT_PASS : TG_VERDICT_RESET;
  if (info->status == TG_HELLO_NEED_MORE) return TG_VERDICT_USERSPACE;
  return TG_VERDICT_RESET;
}

#endif /* TLSGATE_HELLO_VERDICT_H */
