#include "policy/kernel_rule_compiler.h"

#include <algorithm>
#include <set>
#include <string_view>
#include <utility>

#include "tlsgate_abi.h"

namespace tlsgate::policy {

namespace {

// The ports of `rule` on which the kernel can see a flow at all.
std::vector<uint16_t> intercepted_ports(const Rule& rule, std::span<const uint16_t> intercept) {
  if (rule.ports.empty()) return {intercept.begin(), intercept.end()};
  std::vector<uint16_t> out;
  for (uint16_t p : intercept) {
    if (std::find(rule.ports.begin(), rule.ports.end(), p) != rule.ports.end()) out.push_back(p);
  }
  return out;
}

bool cidrs_disjoint(const std::vector<Cidr>& a, const std::vector<Cidr>& b) {
  for (const Cidr& x : a) {
    for (const Cidr& y : b) {
      if (x.overlaps(y)) return false;
    }
  }
  return true;
}

bool sni_lists_disjoint(const std::vector<SniPattern>& a, const std::vector<SniPattern>& b) {
  for (const SniPattern& x : a) {
    for (const SniPattern& y : b) {
      if (sni_patterns_intersect(x, y)) return false;
    }
  }
  return true;
}

// True when no flow on an intercept port can match both rules. SNI proves
// disjointness only when both rules list names: a rule without `sni` matches
// flows with any name.
bool provably_disjoint(const Rule& a, const Rule& b, std::span<const uint16_t> intercept) {
  if (!a.client.empty() && !b.client.empty() && cidrs_disjoint(a.client, b.client)) return true;
  if (!a.dst.empty() && !b.dst.empty() && cidrs_disjoint(a.dst, b.dst)) return true;
  if (!a.sni.empty() && !b.sni.empty() && sni_lists_disjoint(a.sni, b.sni)) return true;
  auto pa = intercepted_ports(a, intercept);
  auto pb = intercepted_ports(b, intercept);
  return std::none_of(pa.begin(), pa.end(),
                      [&](uint16_t p) { return std::find(pb.begin(), pb.end(), p) != pb.end(); });
}

// Why `rule` (a bypass rule) cannot be expressed as kernel entries, or "".
std::string shape_problem(const Rule& rule, std::span<const uint16_t> intercept) {
  if (!rule.sni.empty() && (!rule.client.empty() || !rule.dst.empty())) {
    return "matches on SNI together with client or dst; the kernel checks names alone";
  }
  if (!rule.client.empty() && !rule.dst.empty()) {
    return "matches on both client and dst; the kernel checks each on its own";
  }
  if (intercepted_ports(rule, intercept).size() != intercept.size()) {
    return "its port list does not cover every intercept port";
  }
  return {};
}

// One LPM trie per family and kind in the kernel, each of bounded size.
class PrefixList {
 public:
  explicit PrefixList(std::vector<KernelBypassEntry>& out) : out_(out) {}

  // Room for all of `prefixes` (after de-duplication) in their tries?
  bool fits(const std::vector<Cidr>& prefixes) const {
    size_t v4 = v4_count_, v6 = v6_count_;
    std::set<Cidr> fresh;
    for (const Cidr& c : prefixes) {
      if (seen_.contains(c) || !fresh.insert(c).second) continue;
      (c.network().is_v4() ? v4 : v6) += 1;
    }
    return v4 <= TG_LPM_MAX_ENTRIES && v6 <= TG_LPM_MAX_ENTRIES;
  }

  // A prefix already present keeps the earlier rule's index: both say bypass.
  void add(const std::vector<Cidr>& prefixes, size_t rule_index) {
    for (const Cidr& c : prefixes) {
      if (!seen_.insert(c).second) continue;
      (c.network().is_v4() ? v4_count_ : v6_count_) += 1;
      out_.push_back(KernelBypassEntry{c, rule_index});
    }
  }

 private:
  std::vector<KernelBypassEntry>& out_;
  std::set<Cidr> seen_;
  size_t v4_count_ = 0;
  size_t v6_count_ = 0;
};

// The sni_policy keys, each (name, wildcard) once; bounded by the map size
// in distinct names (an exact and a wildcard entry share a key).
class SniList {
 public:
  explicit SniList(std::vector<KernelSniEntry>& out) : out_(out) {}

  bool fits(const std::vector<SniPattern>& patterns) const {
    size_t n = names_.size();
    std::set<std::string> fresh;
    for (const SniPattern& p : patterns) {
      if (!names_.contains(p.suffix) && fresh.insert(p.suffix).second) ++n;
    }
    return n <= TG_SNI_POLICY_SIZE;
  }

  void add(const std::vector<SniPattern>& patterns, size_t rule_index) {
    for (const SniPattern& p : patterns) {
      if (!seen_.insert({p.suffix, p.wildcard}).second) continue;
      names_.insert(p.suffix);
      out_.push_back(KernelSniEntry{p.suffix, p.wildcard, rule_index});
    }
  }

 private:
  std::vector<KernelSniEntry>& out_;
  std::set<std::pair<std::string, bool>> seen_;
  std::set<std::string> names_;
};

std::vector<Cidr> everything() {
  return {*Cidr::parse("0.0.0.0/0"), *Cidr::parse("::/0")};
}

bool ends_with_label(std::string_view name, std::string_view suffix) {
  return name.size() > suffix.size() && name.ends_with(suffix) &&
         name[name.size() - suffix.size() - 1] == '.';
}

}  // namespace

bool sni_patterns_intersect(const SniPattern& a, const SniPattern& b) {
  if (!a.wildcard && !b.wildcard) return a.suffix == b.suffix;
  if (!a.wildcard) return b.matches(a.suffix);
  if (!b.wildcard) return a.matches(b.suffix);
  // "*.x" and "*.y" share the names below the deeper of the two, if one is
  // the other or lies below it.
  return a.suffix == b.suffix || ends_with_label(a.suffix, b.suffix) ||
         ends_with_label(b.suffix, a.suffix);
}

KernelRules compile_kernel_rules(const RuleSet& rules, std::span<const uint16_t> intercept_ports) {
  KernelRules out;
  PrefixList client_list(out.client_bypass);
  PrefixList dst_list(out.dst_bypass);
  SniList sni_list(out.sni_bypass);

  for (size_t i = 0; i < rules.rules.size(); ++i) {
    const Rule& rule = rules.rules[i];
    if (rule.action != Action::bypass || rule.has_request_matcher()) continue;
    auto not_compiled = [&](const std::string& why) {
      out.not_compiled.push_back(rule.name + ": " + why);
    };

    if (std::string problem = shape_problem(rule, intercept_ports); !problem.empty()) {
      not_compiled(problem);
      continue;
    }
    // Kernel entries apply before any rule is evaluated, so an earlier
    // inspect/block rule that could match the same flow must keep it.
    auto blocker = std::find_if(rules.rules.begin(), rules.rules.begin() + i, [&](const Rule& e) {
      // A rule with request matchers decides requests, never a flow.
      return e.action != Action::bypass && !e.has_request_matcher() &&
             !provably_disjoint(rule, e, intercept_ports);
    });
    if (blocker != rules.rules.begin() + i) {
      not_compiled("an earlier " + std::string(to_string(blocker->action)) + " rule '" +
                   blocker->name + "' may match the same flows");
      continue;
    }

    if (!rule.sni.empty()) {
      if (!sni_list.fits(rule.sni)) {
        not_compiled("the kernel sni_policy map is full");
        continue;
      }
      sni_list.add(rule.sni, i);
      continue;
    }
    // Only a client matcher, only a dst matcher, or none (every flow).
    const bool by_dst = !rule.dst.empty();
    const std::vector<Cidr> prefixes =
        by_dst ? rule.dst : (rule.client.empty() ? everything() : rule.client);
    PrefixList& list = by_dst ? dst_list : client_list;
    if (!list.fits(prefixes)) {
      not_compiled(std::string("the kernel ") + (by_dst ? "dst" : "client") +
                   "_bypass map is full");
      continue;
    }
    list.add(prefixes, i);
  }
  return out;
}

}  // namespace tlsgate::policy
