// The compiled bypassed names (KernelRules::sni_bypass) as userspace asks
// them: "would the kernel's sni_policy lookup let this SNI through?". Used
// where userspace must decide exactly as the kernel does (the NFQUEUE
// classifier) or must know what the kernel will decide (the terminator,
// before it teaches the kernel an address). Same lookups as
// bpf/sni_lookup.h: the whole name against exact entries, every label suffix
// against wildcard entries; equal to SniPattern::matches over the entries
// (tests/unit/policy checks it).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <unordered_set>

#include "policy/kernel_rule_compiler.h"

namespace tlsgate::policy {

class SniBypassSet {
 public:
  SniBypassSet() = default;
  explicit SniBypassSet(std::span<const KernelSniEntry> entries);

  // `sni`: as the parser normalizes it (lower case, no trailing dot).
  bool allows(std::string_view sni) const;
  bool empty() const { return exact_.empty() && wildcard_.empty(); }

 private:
  std::unordered_set<std::string> exact_;
  std::unordered_set<std::string> wildcard_;  // suffixes of "*.suffix"
};

}  // namespace tlsgate::policy
