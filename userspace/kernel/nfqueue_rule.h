// The xtables rule that hands packets the TC program marked to the NFQUEUE
// classifier (DESIGN.md §2), for IPv4 and IPv6:
//   iptables-nft -t filter -I FORWARD 1 -m mark --mark M -j NFQUEUE
//                --queue-num N [--queue-bypass]
// xtables' NFQUEUE target (through iptables-nft) rather than nft's native
// `queue` expression, which some kernels lack. --queue-bypass (fail_mode
// open) lets the packets through while no reader is bound to the queue;
// without it (fail_mode closed) they are dropped.
#pragma once

#include <cstdint>

namespace tlsgate::kernel {

struct NfqueueRuleSpec {
  uint32_t mark = 0;
  uint16_t queue = 0;
  bool bypass_without_reader = true;
};

// Adds the rule for both families unless present. Throws std::runtime_error
// naming the command and its output. IPv6 is skipped when the host has none.
void add_nfqueue_rules(const NfqueueRuleSpec& spec);

// Deletes every copy of the rule, with or without --queue-bypass.
// Idempotent; never throws (a missing xtables binary means nothing to undo).
void delete_nfqueue_rules(const NfqueueRuleSpec& spec);

// Whether the rule (as `spec` says) is present for `family` (AF_INET/6).
bool nfqueue_rule_present(const NfqueueRuleSpec& spec, int family);

}  // namespace tlsgate::kernel
