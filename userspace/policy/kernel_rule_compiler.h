// Compiles the part of a RuleSet the kernel can decide (DESIGN.md §2, §4):
// bypass by client address and by destination address (on the SYN), and the
// bypassed names (`sni_policy`, checked on the first payload of a flow to a
// learned bypass-only address). A bypass rule is compiled only when no
// earlier non-bypass rule could match any flow it matches, so that a kernel
// bypass never pre-empts an earlier inspect/block.
//
// A bypass rule is compiled when it has no `sni`, at most one of `client` and
// `dst`, a `port` list (if any) covering every intercept port, and every
// earlier inspect/block rule is provably disjoint from it (disjoint client
// CIDRs, disjoint dst CIDRs, or no shared intercept port). A bypass rule
// with no address matcher at all becomes client_bypass 0.0.0.0/0 and ::/0.
//
// A bypass rule with `sni` is compiled into sni_bypass when it has no
// `client` and no `dst`, a `port` list (if any) covering every intercept
// port, and every earlier inspect/block rule is provably disjoint from it
// (no shared intercept port, or an `sni` list none of whose patterns can
// match a name one of its patterns matches). Then any flow whose SNI matches
// one of its patterns is bypassed by the rule matcher, whoever the client and
// whatever the address: exactly what the kernel may assume.
//
// Rules with request matchers (url, method) decide requests inside inspected
// flows, never a flow: they are neither compiled nor in the way of a bypass.
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

// One `sni_policy` pattern: an exact name, or the suffix of "*.suffix".
struct KernelSniEntry {
  std::string name;  // lower-case, no trailing dot
  bool wildcard = false;
  size_t rule_index = 0;
};

struct KernelRules {
  std::vector<KernelBypassEntry> client_bypass;  // v4 and v6 mixed
  std::vector<KernelBypassEntry> dst_bypass;
  std::vector<KernelSniEntry> sni_bypass;  // each (name, wildcard) once, first rule's index
  // Bypass rules left to userspace, as "<rule name>: <reason>" (for
  // `tlsgatectl rules`). Inspect/block rules are always userspace's and are
  // not listed.
  std::vector<std::string> not_compiled;
};

// `intercept_ports`: the ports the kernel intercepts; a rule whose `ports`
// list does not cover all of them cannot be expressed in the LPM tries.
KernelRules compile_kernel_rules(const RuleSet& rules, std::span<const uint16_t> intercept_ports);

// Can some name match both patterns?
bool sni_patterns_intersect(const SniPattern& a, const SniPattern& b);

}  // namespace tlsgate::policy
