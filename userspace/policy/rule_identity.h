// What a flow's verdict was decided by, as text that changes whenever that
// decision could change: the matched rule's every field (or, for the
// default, the rule set's default action and untrusted-certificate policy).
// Session tickets the terminator issues are bound to it (issue 17): editing
// or replacing the rule invalidates them; unrelated rules do not.
#pragma once

#include <string>

#include "policy/rule.h"

namespace tlsgate::policy {

std::string rule_identity(const RuleSet& rules, const Verdict& verdict);

}  // namespace tlsgate::policy
