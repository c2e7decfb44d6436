// SniBypassSet is the userspace form of the kernel's sni_policy lookup; it
// must answer exactly what SniPattern::matches answers over the same
// patterns (the rule semantics of DESIGN.md §4).
#include "policy/sni_bypass_set.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "rule_fixtures.h"

namespace tlsgate::policy {
namespace {

KernelSniEntry entry(const SniPattern& p) {
  return KernelSniEntry{p.suffix, p.wildcard, 0};
}

TEST(SniBypassSet, ExactAndWildcard) {
  std::vector<KernelSniEntry> entries{entry(testing::sni("bank.example")),
                                      entry(testing::sni("*.pay.example"))};
  SniBypassSet set(entries);
  EXPECT_TRUE(set.allows("bank.example"));
  EXPECT_FALSE(set.allows("www.bank.example"));
  EXPECT_TRUE(set.allows("a.pay.example"));
  EXPECT_TRUE(set.allows("a.b.pay.example"));
  EXPECT_FALSE(set.allows("pay.example"));  // never the apex
  EXPECT_FALSE(set.allows("apay.example"));
  EXPECT_FALSE(set.allows(""));
  EXPECT_FALSE(SniBypassSet().allows("bank.example"));
}

TEST(SniBypassSet, EqualsSniPatternMatchesOnRandomNames) {
  std::mt19937 rng(0x5e7);
  const char* labels[] = {"a", "b", "example", "x", "www", "test"};
  auto random_name = [&](size_t max_labels) {
    std::string name;
    for (size_t i = 0, n = 1 + rng() % max_labels; i < n; ++i) {
      if (i) name += '.';
      name += labels[rng() % std::size(labels)];
    }
    return name;
  };
  size_t allowed = 0;
  for (int round = 0; round < 2000; ++round) {
    std::vector<SniPattern> patterns;
    for (size_t i = 0, n = 1 + rng() % 4; i < n; ++i) {
      std::string text = random_name(3);
      if (rng() % 2) text = "*." + text;
      patterns.push_back(testing::sni(text));
    }
    std::vector<KernelSniEntry> entries;
    for (const auto& p : patterns) entries.push_back(entry(p));
    SniBypassSet set(entries);
    for (int f = 0; f < 20; ++f) {
      const std::string name = random_name(5);
      const bool reference = std::any_of(patterns.begin(), patterns.end(),
                                         [&](const SniPattern& p) { return p.matches(name); });
      ASSERT_EQ(set.allows(name), reference) << name;
      allowed += reference;
    }
  }
  EXPECT_GT(allowed, 2000u);  // both answers exercised
}

}  // namespace
}  // namespace tlsgate::policy
