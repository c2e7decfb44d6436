#include "policy/kernel_rule_compiler.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <algorithm>

#include <array>

#include "rule_fixtures.h"
#include "tlsgate_abi.h"

namespace tlsgate::policy {
namespace {

using testing::cidr;
using testing::make_rules;

constexpr std::array<uint16_t, 1> k443{443};
constexpr std::array<uint16_t, 2> k443And8443{443, 8443};

bool has_entry(const std::vector<KernelBypassEntry>& entries, const char* prefix, size_t rule) {
  return std::any_of(entries.begin(), entries.end(), [&](const KernelBypassEntry& e) {
    return e.prefix == cidr(prefix) && e.rule_index == rule;
  });
}

// The single not_compiled line for `rule`, or "" when it was compiled.
std::string reason_for(const KernelRules& k, const std::string& rule) {
  for (const auto& line : k.not_compiled) {
    if (line.starts_with(rule + ": ")) return line;
  }
  return {};
}

TEST(KernelRuleCompiler, ClientOnlyBypassGoesToClientTrie) {
  auto k = compile_kernel_rules(
      make_rules(
          {{.name = "iot", .action = Action::bypass, .client = {"10.0.9.0/24", "fd00::/64"}}}),
      k443);
  EXPECT_EQ(k.client_bypass.size(), 2u);
  EXPECT_TRUE(has_entry(k.client_bypass, "10.0.9.0/24", 0));
  EXPECT_TRUE(has_entry(k.client_bypass, "fd00::/64", 0));
  EXPECT_TRUE(k.dst_bypass.empty());
  EXPECT_TRUE(k.not_compiled.empty());
}

TEST(KernelRuleCompiler, DstOnlyBypassGoesToDstTrie) {
  auto k = compile_kernel_rules(
      make_rules({{.name = "x", .action = Action::inspect, .dst = {"198.51.100.0/24"}},
                  {.name = "cdn", .action = Action::bypass, .dst = {"192.0.2.0/24"}}}),
      k443);
  EXPECT_TRUE(k.client_bypass.empty());
  ASSERT_EQ(k.dst_bypass.size(), 1u);
  EXPECT_TRUE(has_entry(k.dst_bypass, "192.0.2.0/24", 1));
}

TEST(KernelRuleCompiler, SniBypassWithAnAddressStaysInUserspace) {
  auto k = compile_kernel_rules(make_rules({{.name = "bank",
                                             .action = Action::bypass,
                                             .sni = {"*.bank.example"},
                                             .dst = {"192.0.2.0/24"}}}),
                                k443);
  EXPECT_TRUE(k.client_bypass.empty());
  EXPECT_TRUE(k.dst_bypass.empty());
  EXPECT_TRUE(k.sni_bypass.empty());
  EXPECT_NE(reason_for(k, "bank").find("SNI"), std::string::npos) << reason_for(k, "bank");
}

bool has_sni(const KernelRules& k, const char* name, bool wildcard, size_t rule) {
  return std::any_of(k.sni_bypass.begin(), k.sni_bypass.end(), [&](const KernelSniEntry& e) {
    return e.name == name && e.wildcard == wildcard && e.rule_index == rule;
  });
}

TEST(KernelRuleCompiler, SniOnlyBypassGoesToSniPolicy) {
  auto k = compile_kernel_rules(
      make_rules(
          {{.name = "bank", .action = Action::bypass, .sni = {"*.Bank.example", "bank.example."}}}),
      k443);
  ASSERT_EQ(k.sni_bypass.size(), 2u);
  EXPECT_TRUE(has_sni(k, "bank.example", true, 0));
  EXPECT_TRUE(has_sni(k, "bank.example", false, 0));
  EXPECT_TRUE(k.client_bypass.empty());
  EXPECT_TRUE(k.not_compiled.empty());
}

TEST(KernelRuleCompiler, EarlierOverlappingNameRuleKeepsTheNameInUserspace) {
  // "*.example" inspects every name below example, among them a.example.
  auto k = compile_kernel_rules(
      make_rules({{.name = "watch", .action = Action::inspect, .sni = {"*.example"}},
                  {.name = "a", .action = Action::bypass, .sni = {"a.example"}},
                  {.name = "deep", .action = Action::bypass, .sni = {"*.x.example"}},
                  {.name = "other", .action = Action::bypass, .sni = {"*.other.test", "example"}}}),
      k443);
  EXPECT_NE(reason_for(k, "a").find("watch"), std::string::npos);
  EXPECT_NE(reason_for(k, "deep").find("watch"), std::string::npos);
  // The apex "example" is not below "*.example": disjoint.
  EXPECT_TRUE(has_sni(k, "other.test", true, 3));
  EXPECT_TRUE(has_sni(k, "example", false, 3));
  EXPECT_EQ(k.sni_bypass.size(), 2u);
}

TEST(KernelRuleCompiler, EarlierAddressRuleOverlapsEveryName) {
  auto k = compile_kernel_rules(
      make_rules({{.name = "lab", .action = Action::inspect, .client = {"10.0.0.0/8"}},
                  {.name = "bank", .action = Action::bypass, .sni = {"bank.example"}}}),
      k443);
  EXPECT_TRUE(k.sni_bypass.empty());
  EXPECT_NE(reason_for(k, "bank").find("lab"), std::string::npos);
}

TEST(KernelRuleCompiler, SniBypassNeedsEveryInterceptPort) {
  auto rules = make_rules(
      {{.name = "bank", .action = Action::bypass, .sni = {"bank.example"}, .ports = {443}}});
  EXPECT_EQ(compile_kernel_rules(rules, k443).sni_bypass.size(), 1u);
  EXPECT_TRUE(compile_kernel_rules(rules, k443And8443).sni_bypass.empty());
}

TEST(KernelRuleCompiler, PatternIntersection) {
  using testing::sni;
  EXPECT_TRUE(sni_patterns_intersect(sni("a.example"), sni("a.example")));
  EXPECT_FALSE(sni_patterns_intersect(sni("a.example"), sni("b.example")));
  EXPECT_TRUE(sni_patterns_intersect(sni("a.example"), sni("*.example")));
  EXPECT_TRUE(sni_patterns_intersect(sni("*.example"), sni("x.y.example")));
  EXPECT_FALSE(sni_patterns_intersect(sni("example"), sni("*.example")));
  EXPECT_TRUE(sni_patterns_intersect(sni("*.a.example"), sni("*.example")));
  EXPECT_TRUE(sni_patterns_intersect(sni("*.example"), sni("*.a.example")));
  EXPECT_FALSE(sni_patterns_intersect(sni("*.aexample"), sni("*.example")));
  EXPECT_FALSE(sni_patterns_intersect(sni("*.a.test"), sni("*.example")));
}

TEST(KernelRuleCompiler, ClientAndDstTogetherIsNotExpressible) {
  // The tries are consulted independently: either entry alone would bypass
  // flows the rule does not match.
  auto k = compile_kernel_rules(make_rules({{.name = "both",
                                             .action = Action::bypass,
                                             .dst = {"192.0.2.0/24"},
                                             .client = {"10.0.0.0/24"}}}),
                                k443);
  EXPECT_TRUE(k.client_bypass.empty());
  EXPECT_TRUE(k.dst_bypass.empty());
  EXPECT_NE(reason_for(k, "both").find("both client and dst"), std::string::npos);
}

TEST(KernelRuleCompiler, PortsMustCoverEveryInterceptPort) {
  auto rules = make_rules(
      {{.name = "p", .action = Action::bypass, .client = {"10.0.0.0/24"}, .ports = {443}}});
  EXPECT_EQ(compile_kernel_rules(rules, k443).client_bypass.size(), 1u);

  auto k = compile_kernel_rules(rules, k443And8443);
  EXPECT_TRUE(k.client_bypass.empty());
  EXPECT_NE(reason_for(k, "p").find("intercept port"), std::string::npos);
}

TEST(KernelRuleCompiler, EarlierOverlappingInspectPreventsCompilation) {
  auto k = compile_kernel_rules(
      make_rules({{.name = "watch-lab", .action = Action::inspect, .client = {"10.0.0.0/28"}},
                  {.name = "lan", .action = Action::bypass, .client = {"10.0.0.0/24"}}}),
      k443);
  EXPECT_TRUE(k.client_bypass.empty());
  const std::string reason = reason_for(k, "lan");
  EXPECT_NE(reason.find("watch-lab"), std::string::npos) << reason;
}

TEST(KernelRuleCompiler, EarlierDisjointClientAllowsCompilation) {
  auto k = compile_kernel_rules(
      make_rules({{.name = "watch", .action = Action::inspect, .client = {"10.0.1.0/24"}},
                  {.name = "lan", .action = Action::bypass, .client = {"10.0.0.0/24"}}}),
      k443);
  EXPECT_TRUE(has_entry(k.client_bypass, "10.0.0.0/24", 1));
  EXPECT_TRUE(k.not_compiled.empty());
}

TEST(KernelRuleCompiler, AddressFamiliesAreDisjoint) {
  auto k = compile_kernel_rules(
      make_rules({{.name = "v6", .action = Action::block, .client = {"::/0"}},
                  {.name = "v4", .action = Action::bypass, .client = {"10.0.0.0/24"}}}),
      k443);
  EXPECT_TRUE(has_entry(k.client_bypass, "10.0.0.0/24", 1));
}

TEST(KernelRuleCompiler, EarlierSniBlockPreemptsAddressBypass) {
  // A flow from the bypassed clients may well carry the blocked name.
  auto k = compile_kernel_rules(
      make_rules({{.name = "tracker", .action = Action::block, .sni = {"t.example"}},
                  {.name = "iot", .action = Action::bypass, .client = {"10.0.9.0/24"}}}),
      k443);
  EXPECT_TRUE(k.client_bypass.empty());
  EXPECT_NE(reason_for(k, "iot").find("tracker"), std::string::npos);
}

TEST(KernelRuleCompiler, DisjointDstProvesItEvenWithSni) {
  auto k = compile_kernel_rules(
      make_rules({{.name = "tracker",
                   .action = Action::block,
                   .sni = {"t.example"},
                   .dst = {"198.51.100.0/24"}},
                  {.name = "cdn", .action = Action::bypass, .dst = {"192.0.2.0/24"}}}),
      k443);
  EXPECT_TRUE(has_entry(k.dst_bypass, "192.0.2.0/24", 1));
}

TEST(KernelRuleCompiler, ClientVsDstIsNotDisjoint) {
  auto k = compile_kernel_rules(
      make_rules({{.name = "inspect-clients", .action = Action::inspect, .client = {"10.0.0.0/8"}},
                  {.name = "cdn", .action = Action::bypass, .dst = {"192.0.2.0/24"}}}),
      k443);
  EXPECT_TRUE(k.dst_bypass.empty());
  EXPECT_NE(reason_for(k, "cdn").find("inspect-clients"), std::string::npos);
}

TEST(KernelRuleCompiler, DisjointPortsProveIt) {
  // The earlier rule only matches port 8443, which is not intercepted.
  auto rules = make_rules({{.name = "alt", .action = Action::block, .ports = {8443}},
                           {.name = "iot", .action = Action::bypass, .client = {"10.0.9.0/24"}}});
  EXPECT_EQ(compile_kernel_rules(rules, k443).client_bypass.size(), 1u);
  // With 8443 intercepted the block rule can match the same flows.
  auto k = compile_kernel_rules(rules, k443And8443);
  EXPECT_TRUE(k.client_bypass.empty());
  EXPECT_NE(reason_for(k, "iot").find("alt"), std::string::npos);
}

TEST(KernelRuleCompiler, LaterRulesAndEarlierBypassesDoNotMatter) {
  auto k = compile_kernel_rules(
      make_rules({{.name = "bank", .action = Action::bypass, .sni = {"bank.example"}},
                  {.name = "iot", .action = Action::bypass, .client = {"10.0.9.0/24"}},
                  {.name = "all", .action = Action::block}}),
      k443);
  EXPECT_TRUE(has_entry(k.client_bypass, "10.0.9.0/24", 1));
  EXPECT_EQ(k.sni_bypass.size(), 1u);
  // Only bypass rules are listed: inspect/block rules are userspace's anyway.
  EXPECT_TRUE(k.not_compiled.empty());
}

TEST(KernelRuleCompiler, CatchAllBypassCoversBothFamilies) {
  auto k = compile_kernel_rules(
      make_rules({{.name = "maintenance", .action = Action::bypass, .ports = {443}}}), k443);
  EXPECT_TRUE(has_entry(k.client_bypass, "0.0.0.0/0", 0));
  EXPECT_TRUE(has_entry(k.client_bypass, "::/0", 0));
  EXPECT_TRUE(k.dst_bypass.empty());
}

TEST(KernelRuleCompiler, DuplicatePrefixKeepsTheFirstRule) {
  auto k = compile_kernel_rules(
      make_rules(
          {{.name = "a", .action = Action::bypass, .dst = {"192.0.2.0/24"}},
           {.name = "b", .action = Action::bypass, .dst = {"192.0.2.0/24", "198.51.100.0/24"}}}),
      k443);
  ASSERT_EQ(k.dst_bypass.size(), 2u);
  EXPECT_TRUE(has_entry(k.dst_bypass, "192.0.2.0/24", 0));
  EXPECT_TRUE(has_entry(k.dst_bypass, "198.51.100.0/24", 1));
}

TEST(KernelRuleCompiler, DefaultActionDoesNotChangeEntries) {
  for (Action d : {Action::inspect, Action::bypass, Action::block}) {
    auto k = compile_kernel_rules(
        make_rules({{.name = "iot", .action = Action::bypass, .client = {"10.0.9.0/24"}},
                    {.name = "x", .action = Action::inspect, .sni = {"x.example"}}},
                   d),
        k443);
    EXPECT_EQ(k.client_bypass.size(), 1u) << to_string(d);
    EXPECT_TRUE(k.dst_bypass.empty()) << to_string(d);
  }
}

TEST(KernelRuleCompiler, FullTrieLeavesTheRuleToUserspace) {
  Rule big;
  big.name = "big";
  big.action = Action::bypass;
  for (uint32_t i = 0; i <= TG_LPM_MAX_ENTRIES; ++i) {
    in_addr a{htonl(0x0a000000u + i)};
    big.client.push_back(Cidr(IpAddress::v4(a), 32));
  }
  RuleSet rules;
  rules.rules.push_back(big);
  auto k = compile_kernel_rules(rules, k443);
  EXPECT_TRUE(k.client_bypass.empty());
  EXPECT_NE(reason_for(k, "big").find("full"), std::string::npos);
}

}  // namespace
}  // namespace tlsgate::policy
