// The one place a flow's verdict is decided in userspace (DESIGN.md §4).
// The kernel's early decisions are the compiled subset (kernel_rule_compiler.h)
// and must always agree with this matcher.
#pragma once

#include "policy/rule.h"

namespace tlsgate::policy {

// First matching rule wins; no match gives the default action. Rules with
// request matchers (url, method) are not flow rules and are skipped.
Verdict match(const RuleSet& rules, const FlowFacts& flow);

// True when `rule`'s flow matchers (sni, dst, client, port) match `flow`.
bool rule_matches(const Rule& rule, const FlowFacts& flow);

}  // namespace tlsgate::policy
