#include "threat/kernel_name_guard.h"

#include <algorithm>

namespace tlsgate::threat {

std::vector<std::string> wildcard_suffixes(const policy::KernelRules& compiled) {
  std::vector<std::string> out;
  for (const auto& e : compiled.sni_bypass) {
    if (e.wildcard) out.push_back(e.name);
  }
  return out;
}

void withhold_threatened_names(policy::KernelRules& compiled, const policy::RuleSet& rules,
                               const ThreatLists& lists) {
  if (lists.empty()) return;
  auto why_withheld = [&](const policy::KernelSniEntry& e) -> std::string {
    if (!e.wildcard) {
      auto hit = lists.match_name(e.name);
      return hit ? "threat list '" + hit->list_name + "' lists '" + hit->entry + "'" : "";
    }
    if (auto hit = lists.match_domain_or_above(e.name)) {
      return "threat list '" + hit->list_name + "' lists '" + hit->entry + "'";
    }
    auto below = lists.entries_below().find(e.name);
    if (below != lists.entries_below().end()) {
      const std::string& found = below->second;  // "<list>: <entry>"
      const auto colon = found.find(": ");
      return "threat list '" + found.substr(0, colon) + "' lists a name below it (" +
             found.substr(colon + 2) + ")";
    }
    return "";
  };
  std::vector<policy::KernelSniEntry> kept;
  for (auto& e : compiled.sni_bypass) {
    const std::string why = why_withheld(e);
    if (why.empty()) {
      kept.push_back(std::move(e));
      continue;
    }
    const std::string rule =
        e.rule_index < rules.rules.size() ? rules.rules[e.rule_index].name : "?";
    compiled.not_compiled.push_back(rule + ": " + (e.wildcard ? "*." : "") + e.name +
                                    " is decided in userspace: " + why);
  }
  compiled.sni_bypass = std::move(kept);
}

}  // namespace tlsgate::threat
