// Compiles the part of a RuleSet the kernel can decide on a SYN (DESIGN.md §4):
// bypass by client address and bypass by destination address. A bypass rule
// is compiled only when no earlier non-bypass rule could match any flow it
// matches, so that a kernel bypass never pre-empts an earlier inspect/block.
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
  // Rules left to userspace, with the reason (for `tlsgatectl rules` later).
  std::vector<std::string> not_compiled;
};

// `intercept_ports`: the ports the kernel intercepts; a rule whose `ports`
// list does not cover all of them cannot be expressed in the LPM tries.
KernelRules compile_kernel_rules(const RuleSet& rules, std::span<const uint16_t> intercept_ports);

}  // namespace tlsgate::policy
