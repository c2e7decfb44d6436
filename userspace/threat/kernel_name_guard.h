// Keeps threat-listed names out of the kernel's bypassed names (DESIGN.md
// §2, §4a). A flow the kernel bypasses by name (a BYPASS_VERIFY flow whose
// SNI is in `sni_policy`) never reaches userspace, so a threat-listed SNI
// must not be covered by a kernel pattern: such patterns are withheld from
// the kernel and decided in userspace, where the threat check comes before
// the rules. A pattern is withheld when
//   - exact "a.example": the name is threat-listed;
//   - wildcard "*.example": a domains entry is "example" or above it (every
//     name below is listed), or any domains/hosts entry lies below it.
// The kernel then resets a BYPASS_VERIFY flow carrying such a name (not a
// bypassed name) and the next flow to that address is steered.
#pragma once

#include <string>
#include <vector>

#include "policy/kernel_rule_compiler.h"
#include "policy/rule.h"
#include "threat/threat_lists.h"

namespace tlsgate::threat {

// The suffixes of the compiled wildcard patterns, to watch while loading.
std::vector<std::string> wildcard_suffixes(const policy::KernelRules& compiled);

// Removes the patterns of `compiled.sni_bypass` that could let a
// threat-listed name through and lists them in `compiled.not_compiled`.
void withhold_threatened_names(policy::KernelRules& compiled, const policy::RuleSet& rules,
                               const ThreatLists& lists);

}  // namespace tlsgate::threat
