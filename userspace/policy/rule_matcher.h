// The one place a flow's verdict is decided in userspace (DESIGN.md §4).
// The kernel's early decisions are the compiled subset (kernel_rule_compiler.h)
// and must always agree with this matcher.
#pragma once

#include "policy/rule.h"

namespace tlsgate::policy {

// First matching rule wins; no match gives the default action.
Verdict match(const RuleSet& rules, const FlowFacts& flow);

// True when `rule` matches `flow` (all of its non-empty matchers match).
bool rule_matches(const Rule& rule, const FlowFacts& flow);

}  // namespace tlsgate::policy
