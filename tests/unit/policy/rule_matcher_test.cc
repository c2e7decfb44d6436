#include "policy/rule_matcher.h"

#include <gtest/gtest.h>

#include "rule_fixtures.h"

namespace tlsgate::policy {
namespace {

using testing::flow;
using testing::make_rules;

constexpr const char* kClient = "10.0.0.5";
constexpr const char* kServer = "192.0.2.10";

TEST(RuleMatcher, ExactSni) {
  auto rules = make_rules({{.name = "bank", .action = Action::bypass, .sni = {"bank.example"}}});
  EXPECT_EQ(match(rules, flow(kClient, kServer, 443, "bank.example")).action, Action::bypass);
  EXPECT_EQ(match(rules, flow(kClient, kServer, 443, "www.bank.example")).action, Action::inspect);
}

TEST(RuleMatcher, WildcardSniAnyDepthNotApex) {
  auto rules = make_rules({{.name = "bank", .action = Action::bypass, .sni = {"*.bank.example"}}});
  EXPECT_EQ(match(rules, flow(kClient, kServer, 443, "www.bank.example")).action, Action::bypass);
  EXPECT_EQ(match(rules, flow(kClient, kServer, 443, "a.b.bank.example")).action, Action::bypass);
  EXPECT_EQ(match(rules, flow(kClient, kServer, 443, "bank.example")).action, Action::inspect);
  EXPECT_EQ(match(rules, flow(kClient, kServer, 443, "notbank.example")).action, Action::inspect);
}

TEST(RuleMatcher, AnyOfSeveralPatterns) {
  auto rules = make_rules(
      {{.name = "bank", .action = Action::bypass, .sni = {"bank.example", "*.bank.example"}}});
  EXPECT_EQ(match(rules, flow(kClient, kServer, 443, "bank.example")).action, Action::bypass);
  EXPECT_EQ(match(rules, flow(kClient, kServer, 443, "www.bank.example")).action, Action::bypass);
}

TEST(RuleMatcher, FlowWithoutSniNeverMatchesSniRule) {
  auto rules = make_rules({{.name = "all-names", .action = Action::block, .sni = {"*.example"}},
                           {.name = "addr", .action = Action::bypass, .dst = {"192.0.2.0/24"}}});
  Verdict v = match(rules, flow(kClient, kServer, 443, std::nullopt));
  EXPECT_EQ(v.action, Action::bypass);
  EXPECT_EQ(v.rule_name, "addr");
}

TEST(RuleMatcher, DstCidrV4AndV6) {
  auto rules = make_rules(
      {{.name = "dst", .action = Action::bypass, .dst = {"192.0.2.0/24", "2001:db8:1::/48"}}});
  EXPECT_EQ(match(rules, flow(kClient, "192.0.2.200", 443, "x.example")).action, Action::bypass);
  EXPECT_EQ(match(rules, flow(kClient, "192.0.3.1", 443, "x.example")).action, Action::inspect);
  EXPECT_EQ(match(rules, flow("fd00::5", "2001:db8:1:2::1", 443, "x.example")).action,
            Action::bypass);
  EXPECT_EQ(match(rules, flow("fd00::5", "2001:db8:2::1", 443, "x.example")).action,
            Action::inspect);
}

TEST(RuleMatcher, ClientCidrIsTheSourceNotTheDestination) {
  auto rules = make_rules(
      {{.name = "iot", .action = Action::bypass, .client = {"10.0.9.0/24", "fd00:9::/64"}}});
  EXPECT_EQ(match(rules, flow("10.0.9.7", kServer, 443, std::nullopt)).action, Action::bypass);
  EXPECT_EQ(match(rules, flow("fd00:9::7", "2001:db8::1", 443, std::nullopt)).action,
            Action::bypass);
  // The same address as destination does not count.
  EXPECT_EQ(match(rules, flow(kClient, "10.0.9.7", 443, std::nullopt)).action, Action::inspect);
}

TEST(RuleMatcher, Ports) {
  auto rules = make_rules({{.name = "alt", .action = Action::block, .ports = {8443}}});
  EXPECT_EQ(match(rules, flow(kClient, kServer, 8443, "a.example")).action, Action::block);
  EXPECT_EQ(match(rules, flow(kClient, kServer, 443, "a.example")).action, Action::inspect);
}

TEST(RuleMatcher, AllMatchersMustMatch) {
  auto rules = make_rules({{.name = "narrow",
                            .action = Action::bypass,
                            .sni = {"*.example"},
                            .dst = {"192.0.2.0/24"},
                            .client = {"10.0.0.0/24"},
                            .ports = {443}}});
  EXPECT_EQ(match(rules, flow("10.0.0.5", "192.0.2.1", 443, "a.example")).action, Action::bypass);
  EXPECT_EQ(match(rules, flow("10.0.1.5", "192.0.2.1", 443, "a.example")).action, Action::inspect);
  EXPECT_EQ(match(rules, flow("10.0.0.5", "198.51.100.1", 443, "a.example")).action,
            Action::inspect);
  EXPECT_EQ(match(rules, flow("10.0.0.5", "192.0.2.1", 8443, "a.example")).action, Action::inspect);
  EXPECT_EQ(match(rules, flow("10.0.0.5", "192.0.2.1", 443, "a.test")).action, Action::inspect);
}

TEST(RuleMatcher, FirstMatchWins) {
  auto rules = make_rules({{.name = "block-tracker", .action = Action::block, .sni = {"t.example"}},
                           {.name = "bypass-all", .action = Action::bypass, .sni = {"*.example"}},
                           {.name = "inspect-t", .action = Action::inspect, .sni = {"t.example"}}});
  Verdict v = match(rules, flow(kClient, kServer, 443, "t.example"));
  EXPECT_EQ(v.action, Action::block);
  EXPECT_EQ(v.rule_name, "block-tracker");
  ASSERT_TRUE(v.rule_index);
  EXPECT_EQ(*v.rule_index, 0u);

  v = match(rules, flow(kClient, kServer, 443, "u.example"));
  EXPECT_EQ(v.action, Action::bypass);
  ASSERT_TRUE(v.rule_index);
  EXPECT_EQ(*v.rule_index, 1u);
}

TEST(RuleMatcher, RuleWithoutMatchersMatchesEverything) {
  auto rules = make_rules({{.name = "everything", .action = Action::block}});
  EXPECT_EQ(match(rules, flow("fd00::1", "2001:db8::1", 8443, std::nullopt)).action, Action::block);
}

TEST(RuleMatcher, DefaultActionWhenNothingMatches) {
  auto rules = make_rules({{.name = "bank", .action = Action::bypass, .sni = {"bank.example"}}},
                          Action::block);
  Verdict v = match(rules, flow(kClient, kServer, 443, "other.example"));
  EXPECT_EQ(v.action, Action::block);
  EXPECT_FALSE(v.rule_index);
  EXPECT_EQ(v.rule_name, "default");

  RuleSet empty;
  EXPECT_EQ(match(empty, flow(kClient, kServer, 443, std::nullopt)).action, Action::inspect);
}

}  // namespace
}  // namespace tlsgate::policy
