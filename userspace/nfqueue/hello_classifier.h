// Userspace's decision on a BYPASS_VERIFY flow's ClientHello (DESIGN.md §2),
// the same definition as the kernel's (bpf/hello_verdict.h):
//
// - classify_first_segment() is the kernel's first-payload classification,
//   step for step (first record only, parser, name lookup): the differential
//   test holds the two to identical answers;
// - QueuedHello carries on where the kernel stopped (verdict USERSPACE: the
//   SNI was not in the first segment): it reassembles the client's byte stream
//   from the queued segments, in sequence order, joins the handshake message
//   across records, and decides as soon as the SNI is known.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "parse_clienthello.h"
#include "policy/sni_bypass_set.h"
#include "tlsgate_abi.h"

namespace tlsgate::nfqueue {

struct HelloDecision {
  uint32_t verdict = TG_VERDICT_USERSPACE;  // enum tg_hello_verdict
  tg_hello_info info{};
  std::string sni() const;  // empty unless the SNI is known
};

HelloDecision classify_first_segment(std::span<const uint8_t> payload,
                                     const policy::SniBypassSet& names);

class QueuedHello {
 public:
  // Bytes held before giving up without an SNI: a whole maximal handshake
  // message in records, plus slack for record headers.
  static constexpr size_t kMaxStream = TG_HELLO_MAX + 64 * TG_RECORD_HEADER_LEN;

  // `first_seq`: the sequence number of the flow's first payload byte (the
  // segment the kernel handed over).
  explicit QueuedHello(uint32_t first_seq) : first_seq_(first_seq) {}

  // Adds a segment (any order, duplicates and overlaps allowed) and returns
  // the decision so far; once it is PASS or RESET it no longer changes.
  const HelloDecision& add(uint32_t seq, std::span<const uint8_t> payload,
                           const policy::SniBypassSet& names);
  const HelloDecision& decision() const { return decision_; }
  bool decided() const { return decision_.verdict != TG_VERDICT_USERSPACE; }
  size_t contiguous_bytes() const { return stream_.size(); }

 private:
  void absorb_pending();
  HelloDecision classify_stream(const policy::SniBypassSet& names) const;

  uint32_t first_seq_;
  std::vector<uint8_t> stream_;                       // contiguous from first_seq_
  std::map<uint32_t, std::vector<uint8_t>> pending_;  // by offset, beyond stream_
  bool first_segment_seen_ = false;
  HelloDecision decision_;
};

}  // namespace tlsgate::nfqueue
