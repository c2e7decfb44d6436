// libFuzzer target: the NFQUEUE packet path (userspace/nfqueue) as the
// classifier drives it for a BYPASS_VERIFY flow the kernel could not decide.
// The input is a sequence of packets, each a 2-byte big-endian length and
// that many bytes starting at the IP header. Every packet is parsed; the
// first TCP payload is classified as the kernel would, and then the flow's
// segments are reassembled (any order, overlaps) until the SNI decides.
// Invariants: a decision never changes once made, the reassembled stream is
// bounded, and the RST sent in place of a refused segment parses back as a
// RST of the same flow at the same sequence number.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "nfqueue/hello_classifier.h"
#include "nfqueue/tcp_packet.h"
#include "policy/kernel_rule_compiler.h"
#include "policy/sni_bypass_set.h"

namespace {

using tlsgate::nfqueue::TcpPacket;

const tlsgate::policy::SniBypassSet& bypass_names() {
  static const std::vector<tlsgate::policy::KernelSniEntry> entries{
      {"bank.example", false, 0}, {"pay.example", true, 1}, {"a", false, 2}};
  static const tlsgate::policy::SniBypassSet names(entries);
  return names;
}

void check_abort_packet(const TcpPacket& p) {
  const std::vector<uint8_t> rst = tlsgate::nfqueue::abort_toward_server(p);
  std::optional<TcpPacket> back = tlsgate::nfqueue::parse_tcp_packet(rst);
  if (!back) std::abort();
  if (!(back->flags & tlsgate::nfqueue::kTcpRst) || back->seq != p.seq || !back->payload.empty() ||
      std::memcmp(&back->key, &p.key, sizeof p.key) != 0) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> rest(data, size);
  std::optional<TcpPacket> first;
  std::optional<tlsgate::nfqueue::QueuedHello> hello;
  std::optional<uint32_t> decided_verdict;
  while (rest.size() >= 2) {
    const size_t len = std::min<size_t>(size_t{rest[0]} << 8 | rest[1], rest.size() - 2);
    const std::span<const uint8_t> packet = rest.subspan(2, len);
    rest = rest.subspan(2 + len);
    std::optional<TcpPacket> p = tlsgate::nfqueue::parse_tcp_packet(packet);
    if (!p) continue;
    check_abort_packet(*p);
    if (p->payload.empty()) continue;
    if (!first) {
      first = p;
      auto d = tlsgate::nfqueue::classify_first_segment(p->payload, bypass_names());
      if (d.verdict != TG_VERDICT_USERSPACE) {
        (void)d.sni();
        decided_verdict = d.verdict;
        continue;
      }
      hello.emplace(p->seq);
    } else if (std::memcmp(&p->key, &first->key, sizeof p->key) != 0) {
      continue;  // another flow's segment: its own queue
    }
    if (!hello) continue;
    const auto& d = hello->add(p->seq, p->payload, bypass_names());
    if (hello->contiguous_bytes() > tlsgate::nfqueue::QueuedHello::kMaxStream) std::abort();
    if (decided_verdict && d.verdict != *decided_verdict) std::abort();
    if (hello->decided()) {
      decided_verdict = d.verdict;
      (void)d.sni();
    }
  }
  return 0;
}
