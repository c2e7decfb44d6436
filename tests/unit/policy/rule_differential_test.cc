// The rule-semantics differential test (DESIGN.md §2, §4): whatever the kernel
// bypasses on a SYN from its compiled tries, the userspace matcher must also
// bypass — for any SNI the ClientHello may later carry, including none; and
// whatever name the kernel lets through on a learned address (sni_policy),
// the userspace matcher bypasses for any client, address and port.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "policy/kernel_rule_compiler.h"
#include "policy/rule_matcher.h"
#include "policy/sni_bypass_set.h"
#include "rule_fixtures.h"

namespace tlsgate::policy {
namespace {

using testing::cidr;
using testing::ip;

// A deliberately small universe so that random rules overlap often.
class RandomPolicy {
 public:
  // Percentages of rules with an sni / a dst / a client matcher.
  explicit RandomPolicy(uint32_t seed, unsigned sni_percent = 30, unsigned address_percent = 45)
      : rng_(seed), sni_percent_(sni_percent), address_percent_(address_percent) {}

  size_t below(size_t n) { return static_cast<size_t>(rng_() % n); }
  bool chance(unsigned percent) { return below(100) < percent; }

  IpAddress address() {
    if (chance(25))
      return ip("2001:db8::" + std::to_string(below(4)) + ":" + std::to_string(below(8)));
    return ip("10." + std::to_string(below(2)) + "." + std::to_string(below(4)) + "." +
              std::to_string(below(8)));
  }

  Cidr prefix() {
    const IpAddress a = address();
    static constexpr unsigned kV4[] = {0, 8, 15, 16, 24, 30, 31, 32};
    static constexpr unsigned kV6[] = {0, 32, 100, 112, 124, 125, 128};
    return a.is_v4() ? Cidr(a, kV4[below(std::size(kV4))]) : Cidr(a, kV6[below(std::size(kV6))]);
  }

  std::vector<Cidr> prefixes() {
    std::vector<Cidr> out(1 + below(3));
    for (auto& c : out) c = prefix();
    return out;
  }

  std::optional<std::string> sni() {
    static const char* kNames[] = {"a.example", "b.a.example", "example", "c.test",
                                   "x.b.a.example"};
    if (chance(20)) return std::nullopt;
    return kNames[below(std::size(kNames))];
  }

  Rule rule(size_t index) {
    static const char* kPatterns[] = {"a.example", "*.example", "*.a.example", "c.test", "*.test"};
    Rule r;
    r.name = "r" + std::to_string(index);
    r.action = static_cast<Action>(below(3));
    if (chance(sni_percent_)) {
      for (size_t i = 0, n = 1 + below(2); i < n; ++i) {
        r.sni.push_back(testing::sni(kPatterns[below(std::size(kPatterns))]));
      }
    }
    if (chance(address_percent_)) r.dst = prefixes();
    if (chance(address_percent_)) r.client = prefixes();
    if (chance(30)) {
      static constexpr uint16_t kPorts[] = {443, 8443};
      r.ports.push_back(kPorts[below(2)]);
      if (chance(40)) r.ports.push_back(kPorts[below(2)]);
    }
    return r;
  }

  RuleSet rules() {
    RuleSet set;
    set.default_action = static_cast<Action>(below(3));
    for (size_t i = 0, n = 1 + below(7); i < n; ++i) set.rules.push_back(rule(i));
    return set;
  }

 private:
  std::mt19937 rng_;
  unsigned sni_percent_;
  unsigned address_percent_;
};

bool trie_hit(const std::vector<KernelBypassEntry>& entries, const IpAddress& a) {
  for (const auto& e : entries) {
    if (e.prefix.contains(a)) return true;
  }
  return false;
}

TEST(RuleDifferential, KernelBypassImpliesUserspaceBypassForEverySni) {
  RandomPolicy random(0x746c5eed);
  const std::vector<std::optional<std::string>> every_sni = {
      std::nullopt, "a.example", "b.a.example", "example", "c.test", "x.b.a.example", "other.org"};
  size_t kernel_bypasses = 0;
  size_t compiled_rule_sets = 0;

  for (int round = 0; round < 3000; ++round) {
    const RuleSet rules = random.rules();
    const std::vector<uint16_t> intercept =
        random.chance(50) ? std::vector<uint16_t>{443} : std::vector<uint16_t>{443, 8443};
    const KernelRules kernel = compile_kernel_rules(rules, intercept);
    if (!kernel.client_bypass.empty() || !kernel.dst_bypass.empty()) ++compiled_rule_sets;

    for (int f = 0; f < 60; ++f) {
      FlowFacts flow{random.address(),
                     Endpoint{random.address(), intercept[random.below(intercept.size())]},
                     std::nullopt};
      if (!trie_hit(kernel.client_bypass, flow.client) &&
          !trie_hit(kernel.dst_bypass, flow.server.address)) {
        continue;
      }
      ++kernel_bypasses;
      for (const auto& name : every_sni) {
        flow.sni = name;
        const Verdict v = match(rules, flow);
        ASSERT_EQ(v.action, Action::bypass)
            << "round " << round << ": kernel bypasses " << flow.client.to_string() << " -> "
            << flow.server.to_string() << " but rule '" << v.rule_name << "' says "
            << to_string(v.action) << " for SNI " << name.value_or("(none)");
      }
    }
  }
  // The property must have been exercised, not vacuously true.
  EXPECT_GT(compiled_rule_sets, 500u);
  EXPECT_GT(kernel_bypasses, 10000u);
}

TEST(RuleDifferential, KernelNameBypassImpliesUserspaceBypassForEveryAddress) {
  RandomPolicy random(0x5111e5, 70, 25);  // name rules mostly
  const std::vector<std::string> every_sni = {"a.example",     "b.a.example", "example", "c.test",
                                              "x.b.a.example", "other.org",   "a.test"};
  size_t kernel_bypasses = 0;
  size_t compiled_rule_sets = 0;

  for (int round = 0; round < 3000; ++round) {
    const RuleSet rules = random.rules();
    const std::vector<uint16_t> intercept =
        random.chance(50) ? std::vector<uint16_t>{443} : std::vector<uint16_t>{443, 8443};
    const KernelRules kernel = compile_kernel_rules(rules, intercept);
    if (!kernel.sni_bypass.empty()) ++compiled_rule_sets;
    const SniBypassSet names(kernel.sni_bypass);

    for (const auto& name : every_sni) {
      if (!names.allows(name)) continue;
      for (int f = 0; f < 20; ++f) {
        FlowFacts flow{random.address(),
                       Endpoint{random.address(), intercept[random.below(intercept.size())]}, name};
        ++kernel_bypasses;
        const Verdict v = match(rules, flow);
        ASSERT_EQ(v.action, Action::bypass)
            << "round " << round << ": the kernel lets " << name << " through but rule '"
            << v.rule_name << "' says " << to_string(v.action) << " for " << flow.client.to_string()
            << " -> " << flow.server.to_string();
      }
    }
  }
  EXPECT_GT(compiled_rule_sets, 300u);
  EXPECT_GT(kernel_bypasses, 10000u);
}

}  // namespace
}  // namespace tlsgate::policy
