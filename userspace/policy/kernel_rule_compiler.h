// Compiles the part of a RuleSet the kernel can decide on a SYN (DESIGN.md §4):
// bypass by client address and bypass by destination address. A bypass rule
// is compiled only when no earlier non-bypass rule could match any flow it
// matches, so that a kernel bypass never pre-empts an earlier inspect/block.
//
// A bypass rule is compiled when it has no `sni`, at most one of `client` and
// `dst`, a `port` list (if any) covering every intercept port, and every
// earlier inspect/block rule is provably disjoint from it (disjoint client
// CIDRs, disjoint dst CIDRs, or no shared intercept port). A bypass rule
// with no address matcher at all becomes client_bypass 0.0.0.0/0 and ::/0.
//
// The default action never changes which entries are correct: an entry only
// covers flows that userspace would send to a bypass rule before reaching the
// default. Flows not covered are steered and userspace applies the default;
// with default_action = "bypass" that means unmatched flows are spliced in
// userspace rather than bypassed by the kernel, because "matches no earlier
// rule" is not expressible as prefixes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "policy/rule.h"

namespace tlsgate::policy {

struct KernelBypassEntry {
  Cidr prefix;
  size_t rule_index = 0;
};

struct KernelRules {
  std::vector<KernelBypassEntry> client_bypass;  // v4 and v6 mixed
  std::vector<KernelBypassEntry> dst_bypass;
  // Bypass rules left to userspace, as "<rule name>: <reason>" (for
  // `tlsgatectl rules`). Inspect/block rules are always userspace's and are
  // not listed.
  std::vector<std::string> not_compiled;
};

// `intercept_ports`: the ports the kernel intercepts; a rule whose `ports`
// list does not cover all of them cannot be expressed in the LPM tries.
KernelRules compile_kernel_rules(const RuleSet& rules, std::span<const uint16_t> intercept_ports);

}  // namespace tlsgate::policy
