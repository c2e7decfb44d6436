/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The one ClientHello parser (DESIGN.md §2): compiled into the eBPF object
 * (clang -target bpf) and into userspace C++ (the terminator), so kernel and
 * userspace classify a flow from the same reading of the same bytes.
 *
 * Verifier discipline:
 * - every read of the message goes through tg_hello_u8(), which masks the
 *   index into [0, TG_HELLO_MAX). In the kernel `msg` must therefore point to
 *   a buffer of TG_HELLO_MAX bytes (a map value); in userspace the explicit
 *   length checks keep every read below min(len, TG_HELLO_MAX), so the mask
 *   never changes an index there;
 * - every loop is tg_loop(n, step, ctx): bpf_loop() in the kernel, a plain
 *   loop in userspace. The verifier checks a bpf_loop callback until its
 *   states converge, independently of the iteration number, where a bounded
 *   loop is verified once per iteration and per distinct loop-carried state
 *   (which for a 253-byte name exceeds the 1M instruction budget). The scan
 *   states avoid small constants that would make the verifier track them
 *   exactly (e.g. a label is tracked by where it starts, not by its length).
 *
 * Two limits exist that a conforming ClientHello could in theory exceed:
 * more than TG_HELLO_MAX_EXTENSIONS extensions, or more than
 * TG_HELLO_MAX_LIST_ENTRIES entries in the server_name or ALPN lists. Both
 * are reported as TG_HELLO_TOO_LARGE (no real client comes near them). */
#ifndef TLSGATE_PARSE_CLIENTHELLO_H
#define TLSGATE_PARSE_CLIENTHELLO_H

#include <linux/types.h>
#if defined(__bpf__)
#include <bpf/bpf_helpers.h>
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define TG_HELLO_MAX                                                          \
  16384 /* largest handshake message handled, incl. 4-byte header; power of 2 \
         */
#define TG_SNI_MAX 253
#define TG_HELLO_MASK (TG_HELLO_MAX - 1)
#define TG_RECORD_HEADER_LEN 5
#define TG_RECORD_MAX_FRAGMENT (16384 + 256)
#define TG_HELLO_MAX_EXTENSIONS 64
#define TG_HELLO_MAX_LIST_ENTRIES 32

#define TG_EXT_SERVER_NAME 0
#define TG_EXT_ALPN 16
#define TG_EXT_SUPPORTED_VERSIONS 43

enum tg_hello_status {
  TG_HELLO_OK = 0,
  TG_HELLO_NEED_MORE,
  TG_HELLO_NOT_CLIENT_HELLO,
  TG_HELLO_MALFORMED,
  TG_HELLO_TOO_LARGE,
};

/* Internal: the status of a scan that has not finished yet. */
#define TG_HELLO_SCANNING 0x100u

struct tg_hello_info {
  __u32 status;  /* enum tg_hello_status */
  __u32 msg_len; /* whole handshake message length incl. its 4-byte header */
  __u16 legacy_version;
  /* 1: `sni` holds the validated, normalized host_name. With status OK the
   * whole message was checked. With status NEED_MORE it means the SNI
   * extension lies entirely within the bytes given and is valid; a later part
   * of the message may still turn out MALFORMED (e.g. a duplicate extension). */
  __u8 has_sni;
  __u8 sni_len;
  char sni[TG_SNI_MAX + 3]; /* normalized, NUL-terminated */
  /* offsets relative to the start of the handshake message; 0/0 when absent */
  __u16 cipher_suites_off, cipher_suites_len;
  __u16 extensions_off, extensions_len;
  __u16 alpn_off, alpn_len; /* body of the ALPN extension (16) */
  __u16 supported_versions_off, supported_versions_len;
};

/* Runs step(i, ctx) for i = 0..n-1 until it returns nonzero. */
typedef long (*tg_loop_fn)(__u32 i, void* ctx);
#if defined(__bpf__)
#define tg_loop(n, step, ctx) bpf_loop((n), (void*)(step), (ctx), 0)
#else
static inline long tg_loop(__u32 n, tg_loop_fn step, void* ctx) {
  __u32 i;

  for (i = 0; i < n; i++)
    if (step(i, ctx)) return (long)i + 1;
  return (long)n;
}
#endif

static __always_inline __u32 tg_hello_u8(const __u8* msg, __u32 off) {
  return msg[off & TG_HELLO_MASK];
}

static __always_inline __u32 tg_hello_u16(const __u8* msg, __u32 off) {
  return (tg_hello_u8(msg, off) << 8) | tg_hello_u8(msg, off + 1);
}

/* For offsets carried from one loop step to the next, already checked to be
 * <= TG_HELLO_MAX: the mask changes no value, but gives the verifier a fixed
 * range, so that the callback's states converge instead of growing by up to
 * 64 KiB per step. */
static __always_inline __u32 tg_hello_carry(__u32 off) {
  return off & (2 * TG_HELLO_MAX - 1);
}

/* Can `n` bytes at `pos` be read? MALFORMED when they would cross the
 * declared end of the enclosing structure, NEED_MORE when they are declared
 * but not (yet) available. */
static __always_inline int tg_hello_need(__u32 pos, __u32 n, __u32 declared_end, __u32 avail) {
  if (pos + n > declared_end) return TG_HELLO_MALFORMED;
  if (pos + n > avail) return TG_HELLO_NEED_MORE;
  return TG_HELLO_OK;
}

static __always_inline int tg_hello_finish(struct tg_hello_info* out, int status) {
  out->status = (__u32)status;
  return status;
}

/* 5-byte TLS record header: returns TG_HELLO_OK and the fragment length for a
 * handshake record (type 22, major version 3, length <= 16384+256), NEED_MORE
 * if < 5 bytes, NOT_CLIENT_HELLO otherwise (decided as soon as the first or
 * second byte is wrong). A zero fragment length is returned as OK with
 * *fragment_len == 0; the caller rejects it (RFC 8446 §5.1 forbids empty
 * handshake fragments). */
static __always_inline int tg_parse_record_header(const __u8* p, __u32 len, __u32* fragment_len) {
  __u32 length;

  *fragment_len = 0;
  if (len >= 1 && p[0] != 22) return TG_HELLO_NOT_CLIENT_HELLO;
  if (len >= 2 && p[1] != 3) return TG_HELLO_NOT_CLIENT_HELLO;
  if (len < TG_RECORD_HEADER_LEN) return TG_HELLO_NEED_MORE;
  length = ((__u32)p[3] << 8) | (__u32)p[4];
  if (length > TG_RECORD_MAX_FRAGMENT) return TG_HELLO_NOT_CLIENT_HELLO;
  *fragment_len = length;
  return TG_HELLO_OK;
}

/* ---- host_name ------------------------------------------------------------ */

/* One byte of a host_name per tg_host_name_byte() call. */
struct tg_host_name_scan {
  const __u8* msg;
  struct tg_hello_info* out;
  __u32 off;           /* offset of the name in msg */
  __u32 label_start;   /* index in the name of the current label's first byte */
  __u32 label_decimal; /* every byte of the current label is a digit */
  __u32 label_hex;     /* the current label is "0x" followed by hex digits */
  __u32 malformed;
};

static inline long tg_host_name_byte(__u32 i, void* ctx) {
  struct tg_host_name_scan* scan = (struct tg_host_name_scan*)ctx;
  __u32 c = tg_hello_u8(scan->msg, scan->off + i);
  __u32 pos = i - scan->label_start; /* position in the label */

  if (i < scan->label_start) goto malformed; /* cannot happen; bounds pos for the verifier */
  if (c == '.') {
    if (pos == 0) goto malformed; /* empty label */
    scan->label_start = i + 1;
    scan->label_decimal = 1;
    scan->label_hex = 1;
    scan->out->sni[i & 0xff] = '.';
    return 0;
  }
  if (pos >= 63) goto malformed;
  if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
  if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) goto malformed;
  if (!(c >= '0' && c <= '9')) scan->label_decimal = 0;
  if (pos == 0) {
    if (c != '0') scan->label_hex = 0;
  } else if (pos == 1) {
    if (c != 'x') scan->label_hex = 0;
  } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
    scan->label_hex = 0;
  }
  scan->out->sni[i & 0xff] = (char)c;
  return 0;

malformed:
  scan->malformed = 1;
  return 1;
}

/* Checks the host_name and writes its normalized form (lower case, one
 * trailing dot removed) to out->sni. Rules (SECURITY-BATTERY case 35): 1..253
 * bytes after normalization, labels 1..63 bytes of [A-Za-z0-9_-], no IP
 * literal. A name whose last label is a number (decimal, or 0x-hex) is an IP
 * literal: that covers dotted quads and every other form a browser's URL
 * parser would read as IPv4; ':' is already outside the alphabet. */
static __always_inline int tg_hello_copy_host_name(const __u8* msg, __u32 off, __u32 name_len,
                                                   struct tg_hello_info* out) {
  struct tg_host_name_scan scan;
  __u32 norm_len = name_len;

  if (name_len == 0) return TG_HELLO_MALFORMED;
  if (tg_hello_u8(msg, off + name_len - 1) == '.') norm_len = name_len - 1;
  if (norm_len == 0 || norm_len > TG_SNI_MAX) return TG_HELLO_MALFORMED;

  __builtin_memset(&scan, 0, sizeof(scan));
  scan.msg = msg;
  scan.out = out;
  scan.off = off;
  scan.label_decimal = 1;
  scan.label_hex = 1;
  tg_loop(norm_len, tg_host_name_byte, &scan);
  if (scan.malformed) return TG_HELLO_MALFORMED;
  if (scan.label_start >= norm_len) return TG_HELLO_MALFORMED; /* "a.." leaves an empty label */
  if (scan.label_decimal || (scan.label_hex && norm_len - scan.label_start >= 2))
    return TG_HELLO_MALFORMED;
  /* out->sni was zeroed on entry: the name is already NUL-terminated. */
  out->sni_len = (__u8)norm_len;
  out->has_sni = 1;
  return TG_HELLO_OK;
}

/* ---- server_name and ALPN lists -------------------------------------------- */

/* A list of entries with a `len_size`-byte length after a `skip`-byte prefix
 * (server_name: 1-byte type + 2-byte length; ALPN: 1-byte length). */
struct tg_list_scan {
  const __u8* msg;
  __u32 pos; /* next entry */
  __u32 end; /* declared end of the list */
  __u32 status;
  __u32 host_name_off; /* server_name only: body of the host_name entry (0: none) */
  __u32 host_name_len;
};

/* server_name list entry (RFC 6066 §3): at most one host_name (type 0);
 * entries of other types are skipped. */
static inline long tg_server_name_entry(__u32 i, void* ctx) {
  struct tg_list_scan* scan = (struct tg_list_scan*)ctx;
  __u32 pos = scan->pos, len;

  (void)i;
  if (pos == scan->end) {
    scan->status = TG_HELLO_OK;
    return 1;
  }
  if (pos + 3 > scan->end) goto malformed;
  len = tg_hello_u16(scan->msg, pos + 1);
  if (pos + 3 + len > scan->end) goto malformed;
  if (tg_hello_u8(scan->msg, pos) == 0) {
    if (scan->host_name_off != 0) goto malformed; /* two host_names */
    scan->host_name_off = pos + 3;
    scan->host_name_len = len;
  }
  scan->pos = tg_hello_carry(pos + 3 + len);
  return 0;

malformed:
  scan->status = TG_HELLO_MALFORMED;
  return 1;
}

/* ALPN protocol_name_list entry (RFC 7301 §3.1): a non-empty name. */
static inline long tg_alpn_entry(__u32 i, void* ctx) {
  struct tg_list_scan* scan = (struct tg_list_scan*)ctx;
  __u32 pos = scan->pos, len;

  (void)i;
  if (pos == scan->end) {
    scan->status = TG_HELLO_OK;
    return 1;
  }
  len = tg_hello_u8(scan->msg, pos);
  if (len == 0 || pos + 1 + len > scan->end) {
    scan->status = TG_HELLO_MALFORMED;
    return 1;
  }
  scan->pos = tg_hello_carry(pos + 1 + len);
  return 0;
}

/* Checks a list with a 2-byte length that fills the extension body `ext_len`
 * at `off` and must not be empty. */
static __always_inline int tg_hello_scan_list(const __u8* msg, __u32 off, __u32 ext_len,
                                              tg_loop_fn entry, struct tg_list_scan* scan) {
  __builtin_memset(scan, 0, sizeof(*scan));
  if (ext_len <= 2 || tg_hello_u16(msg, off) + 2 != ext_len) return TG_HELLO_MALFORMED;
  scan->msg = msg;
  scan->pos = off + 2;
  scan->end = off + ext_len;
  scan->status = TG_HELLO_SCANNING;
  tg_loop(TG_HELLO_MAX_LIST_ENTRIES + 1, entry, scan);
  if (scan->status == TG_HELLO_SCANNING) return TG_HELLO_TOO_LARGE;
  return (int)scan->status;
}

static __always_inline int tg_hello_parse_sni(const __u8* msg, __u32 off, __u32 ext_len,
                                              struct tg_hello_info* out) {
  struct tg_list_scan scan;
  int st = tg_hello_scan_list(msg, off, ext_len, tg_server_name_entry, &scan);

  if (st != TG_HELLO_OK) return st;
  if (scan.host_name_off == 0) return TG_HELLO_OK; /* no host_name: no SNI */
  return tg_hello_copy_host_name(msg, scan.host_name_off, scan.host_name_len, out);
}

/* supported_versions in a ClientHello (RFC 8446 §4.2.1): a 1-byte length
 * and 1..127 two-byte versions. */
static __always_inline int tg_hello_check_versions(const __u8* msg, __u32 off, __u32 ext_len) {
  __u32 list_len;

  if (ext_len < 3) return TG_HELLO_MALFORMED;
  list_len = tg_hello_u8(msg, off);
  if (list_len + 1 != ext_len || (list_len & 1) != 0) return TG_HELLO_MALFORMED;
  return TG_HELLO_OK;
}

/* ---- extensions ------------------------------------------------------------ */

/* The walk over the extension headers records each type (for the duplicate
 * check) and where the extensions whose bodies are checked afterwards are
 * (body offset 0: absent). */
struct tg_ext_walk {
  const __u8* msg;
  __u32 pos;   /* next extension header */
  __u32 end;   /* declared end of the extensions (the message end) */
  __u32 avail; /* bytes available from the message start */
  __u32 status;
  __u32 sni_off, sni_len;
  __u32 alpn_off, alpn_len;
  __u32 versions_off, versions_len;
  __u32 count; /* extensions seen */
  __u32 duplicate;
  __u16 types[TG_HELLO_MAX_EXTENSIONS];
};

static inline long tg_ext_walk_step(__u32 i, void* ctx) {
  struct tg_ext_walk* walk = (struct tg_ext_walk*)ctx;
  __u32 pos = walk->pos, type, len;
  int st;

  if (pos == walk->end) {
    walk->status = TG_HELLO_OK;
    return 1;
  }
  st = tg_hello_need(pos, 4, walk->end, walk->avail);
  if (st != TG_HELLO_OK) {
    walk->status = (__u32)st;
    return 1;
  }
  type = tg_hello_u16(walk->msg, pos);
  len = tg_hello_u16(walk->msg, pos + 2);
  if (pos + 4 + len > walk->end) {
    walk->status = TG_HELLO_MALFORMED;
    return 1;
  }
  /* Call i handles extension i: indexing by i rather than by a counter keeps
   * the verifier from tracking the count as a constant in every state. */
  if (i >= TG_HELLO_MAX_EXTENSIONS) {
    walk->status = TG_HELLO_TOO_LARGE;
    return 1;
  }
  walk->types[i & (TG_HELLO_MAX_EXTENSIONS - 1)] = (__u16)type;
  walk->count = i + 1;
  if (type == TG_EXT_SERVER_NAME) {
    walk->sni_off = pos + 4;
    walk->sni_len = len;
  } else if (type == TG_EXT_ALPN) {
    walk->alpn_off = pos + 4;
    walk->alpn_len = len;
  } else if (type == TG_EXT_SUPPORTED_VERSIONS) {
    walk->versions_off = pos + 4;
    walk->versions_len = len;
  }
  walk->pos = tg_hello_carry(pos + 4 + len);
  return 0;
}

/* RFC 8446 §4.2: no extension type may appear twice. k enumerates the pairs
 * (a, b) = (k / count, k % count) of the `count` extensions seen; each type
 * is compared with the ones before it. One flat loop, because a loop nested
 * in the walk's callback multiplies the verifier's work by the walk's states;
 * count * count steps rather than count * 64 (the cost of a BPF loop is per
 * step). */
static inline long tg_ext_duplicate_pair(__u32 k, void* ctx) {
  struct tg_ext_walk* walk = (struct tg_ext_walk*)ctx;
  __u32 n = walk->count;
  __u32 a, b;

  if (n == 0) return 1;
  a = k / n;
  b = k % n;

  if (b >= a) return 0;
  if (walk->types[a & (TG_HELLO_MAX_EXTENSIONS - 1)] ==
      walk->types[b & (TG_HELLO_MAX_EXTENSIONS - 1)]) {
    walk->duplicate = 1;
    return 1;
  }
  return 0;
}

/* ---- ClientHello ----------------------------------------------------------- */

/* Parses a ClientHello handshake message that starts at its 4-byte handshake
 * header (msg_type 1, uint24 length); `len` bytes are available. Returns (and
 * stores in out->status) an enum tg_hello_status:
 *   OK               the whole message is there and well-formed;
 *   NEED_MORE        the message continues past `len` (see has_sni);
 *   NOT_CLIENT_HELLO msg_type != 1;
 *   MALFORMED        inconsistent lengths, a duplicate extension, a bad SNI;
 *   TOO_LARGE        declared length > TG_HELLO_MAX (or a parser limit above).
 * A message of which only a prefix is given is MALFORMED only when that
 * prefix already proves it; otherwise NEED_MORE. */
static __always_inline int tg_parse_client_hello(const __u8* msg, __u32 len,
                                                 struct tg_hello_info* out) {
  struct tg_ext_walk walk;
  struct tg_list_scan alpn;
  __u32 msg_len, avail, pos, n;
  int st, result;

  __builtin_memset(out, 0, sizeof(*out));
  if (len > TG_HELLO_MAX) len = TG_HELLO_MAX; /* the declared length decides TOO_LARGE */
  if (len == 0) return tg_hello_finish(out, TG_HELLO_NEED_MORE);
  if (tg_hello_u8(msg, 0) != 1) return tg_hello_finish(out, TG_HELLO_NOT_CLIENT_HELLO);
  if (len < 4) return tg_hello_finish(out, TG_HELLO_NEED_MORE);
  msg_len = ((tg_hello_u8(msg, 1) << 16) | tg_hello_u16(msg, 2)) + 4;
  out->msg_len = msg_len;
  if (msg_len > TG_HELLO_MAX) return tg_hello_finish(out, TG_HELLO_TOO_LARGE);
  avail = len < msg_len ? len : msg_len;

  /* legacy_version, random */
  st = tg_hello_need(4, 34, msg_len, avail);
  if (st != TG_HELLO_OK) return tg_hello_finish(out, st);
  out->legacy_version = (__u16)tg_hello_u16(msg, 4);
  pos = 38;

  /* legacy_session_id <0..32> */
  st = tg_hello_need(pos, 1, msg_len, avail);
  if (st != TG_HELLO_OK) return tg_hello_finish(out, st);
  n = tg_hello_u8(msg, pos);
  if (n > 32) return tg_hello_finish(out, TG_HELLO_MALFORMED);
  pos += 1 + n;

  /* cipher_suites <2..2^16-2>, an even length */
  st = tg_hello_need(pos, 2, msg_len, avail);
  if (st != TG_HELLO_OK) return tg_hello_finish(out, st);
  n = tg_hello_u16(msg, pos);
  if (n == 0 || (n & 1) != 0) return tg_hello_finish(out, TG_HELLO_MALFORMED);
  pos += 2;
  if (pos + n > msg_len) return tg_hello_finish(out, TG_HELLO_MALFORMED);
  out->cipher_suites_off = (__u16)pos;
  out->cipher_suites_len = (__u16)n;
  pos += n;

  /* legacy_compression_methods <1..2^8-1> */
  st = tg_hello_need(pos, 1, msg_len, avail);
  if (st != TG_HELLO_OK) return tg_hello_finish(out, st);
  n = tg_hello_u8(msg, pos);
  if (n == 0) return tg_hello_finish(out, TG_HELLO_MALFORMED);
  pos += 1 + n;
  if (pos > msg_len) return tg_hello_finish(out, TG_HELLO_MALFORMED);

  /* extensions <8..2^16-1>, absent in some TLS 1.2 ClientHellos */
  if (pos == msg_len)
    return tg_hello_finish(out, avail < msg_len ? TG_HELLO_NEED_MORE : TG_HELLO_OK);
  st = tg_hello_need(pos, 2, msg_len, avail);
  if (st != TG_HELLO_OK) return tg_hello_finish(out, st);
  n = tg_hello_u16(msg, pos);
  pos += 2;
  if (pos + n != msg_len) return tg_hello_finish(out, TG_HELLO_MALFORMED);
  out->extensions_off = (__u16)pos;
  out->extensions_len = (__u16)n;

  __builtin_memset(&walk, 0, sizeof(walk));
  walk.msg = msg;
  walk.pos = pos;
  walk.end = msg_len;
  walk.avail = avail;
  walk.status = TG_HELLO_SCANNING;
  tg_loop(TG_HELLO_MAX_EXTENSIONS + 1, tg_ext_walk_step, &walk);
  if (walk.status == TG_HELLO_SCANNING) return tg_hello_finish(out, TG_HELLO_TOO_LARGE);
  if (walk.status != TG_HELLO_OK && walk.status != TG_HELLO_NEED_MORE)
    return tg_hello_finish(out, (int)walk.status);
  /* Extensions seen so far: a duplicate among them is final even when the
   * message is incomplete. */
  tg_loop(walk.count * walk.count, tg_ext_duplicate_pair, &walk);
  if (walk.duplicate) return tg_hello_finish(out, TG_HELLO_MALFORMED);
  /* The walk reads headers only: the last body may still be cut. */
  result = avail < msg_len ? TG_HELLO_NEED_MORE : TG_HELLO_OK;

  /* Bodies are checked only when entirely available. */
  if (walk.sni_off != 0) {
    if (walk.sni_off + walk.sni_len <= avail) {
      st = tg_hello_parse_sni(msg, walk.sni_off, walk.sni_len, out);
      if (st != TG_HELLO_OK) {
        out->has_sni = 0;
        return tg_hello_finish(out, st);
      }
    }
  }
  if (walk.alpn_off != 0 && walk.alpn_off + walk.alpn_len <= avail) {
    st = tg_hello_scan_list(msg, walk.alpn_off, walk.alpn_len, tg_alpn_entry, &alpn);
    if (st != TG_HELLO_OK) return tg_hello_finish(out, st);
    out->alpn_off = (__u16)walk.alpn_off;
    out->alpn_len = (__u16)walk.alpn_len;
  }
  if (walk.versions_off != 0 && walk.versions_off + walk.versions_len <= avail) {
    st = tg_hello_check_versions(msg, walk.versions_off, walk.versions_len);
    if (st != TG_HELLO_OK) return tg_hello_finish(out, st);
    out->supported_versions_off = (__u16)walk.versions_off;
    out->supported_versions_len = (__u16)walk.versions_len;
  }
  return tg_hello_finish(out, result);
}

#endif /* TLSGATE_PARSE_CLIENTHELLO_H */
