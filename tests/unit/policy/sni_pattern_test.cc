#include <gtest/gtest.h>

#include <string>

#include "policy/rule.h"

namespace tlsgate::policy {
namespace {

TEST(SniPattern, ExactNameIsNormalized) {
  std::string error;
  auto p = SniPattern::parse("WWW.Example.COM.", &error);
  ASSERT_TRUE(p) << error;
  EXPECT_FALSE(p->wildcard);
  EXPECT_EQ(p->suffix, "www.example.com");
  EXPECT_EQ(p->to_string(), "www.example.com");
}

TEST(SniPattern, WildcardKeepsOnlyTheSuffix) {
  std::string error;
  auto p = SniPattern::parse("*.Bank.Example", &error);
  ASSERT_TRUE(p) << error;
  EXPECT_TRUE(p->wildcard);
  EXPECT_EQ(p->suffix, "bank.example");
  EXPECT_EQ(p->to_string(), "*.bank.example");
}

TEST(SniPattern, AcceptsUnderscoreAndHyphen) {
  std::string error;
  EXPECT_TRUE(SniPattern::parse("_dmarc.my-host.example", &error)) << error;
  EXPECT_TRUE(SniPattern::parse("xn--bcher-kva.example", &error)) << error;
}

TEST(SniPattern, RejectsMalformedPatterns) {
  const std::string label64(64, 'a');
  const std::string long_name = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                                std::string(63, 'c') + "." + std::string(63, 'd');  // 255
  for (const std::string& bad : {std::string(""),
                                 std::string("."),
                                 std::string("*"),
                                 std::string("*."),
                                 std::string("a*.b"),
                                 std::string("*a.b"),
                                 std::string("foo.*.b"),
                                 std::string("*.*.b"),
                                 std::string("**.b"),
                                 std::string("a.b*"),
                                 std::string("a..b"),
                                 std::string(".a.b"),
                                 std::string("a.b.."),
                                 std::string("exa mple.com"),
                                 std::string("host/x.example"),
                                 std::string("bücher.example"),
                                 std::string("host.example:443"),
                                 label64 + ".example",
                                 long_name,
                                 std::string("192.0.2.1"),
                                 std::string("*.0.2.1"),
                                 std::string("2001:db8::1"),
                                 std::string("[2001:db8::1]")}) {
    std::string error;
    EXPECT_FALSE(SniPattern::parse(bad, &error)) << "accepted '" << bad << "'";
    EXPECT_FALSE(error.empty()) << "no message for '" << bad << "'";
  }
}

TEST(SniPattern, LengthLimitsAreInclusive) {
  std::string error;
  const std::string label63(63, 'a');
  EXPECT_TRUE(SniPattern::parse(label63 + ".example", &error)) << error;
  const std::string name253 = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                              std::string(63, 'c') + "." + std::string(61, 'd');
  ASSERT_EQ(name253.size(), 253u);
  EXPECT_TRUE(SniPattern::parse(name253, &error)) << error;
  EXPECT_FALSE(SniPattern::parse(name253 + "d", &error));
}

TEST(SniPattern, ErrorPointerMayBeNull) {
  EXPECT_FALSE(SniPattern::parse("*", nullptr));
}

TEST(SniPattern, ExactMatchesOnlyThatName) {
  auto p = *SniPattern::parse("bank.example", nullptr);
  EXPECT_TRUE(p.matches("bank.example"));
  EXPECT_FALSE(p.matches("www.bank.example"));
  EXPECT_FALSE(p.matches("bank.example.evil"));
  EXPECT_FALSE(p.matches("xbank.example"));
  EXPECT_FALSE(p.matches(""));
}

TEST(SniPattern, WildcardMatchesAnyDepthButNeverTheApex) {
  auto p = *SniPattern::parse("*.bank.example", nullptr);
  EXPECT_TRUE(p.matches("www.bank.example"));
  EXPECT_TRUE(p.matches("a.b.c.bank.example"));
  EXPECT_FALSE(p.matches("bank.example"));
  EXPECT_FALSE(p.matches("evilbank.example"));  // label boundary
  EXPECT_FALSE(p.matches(".bank.example"));
  EXPECT_FALSE(p.matches("bank.example.evil"));
}

TEST(SniPattern, ToleratesCaseAndTrailingDotInTheFlowName) {
  // A block rule must not be evaded by "EVIL.example." even if a name
  // reached the matcher unnormalized.
  auto exact = *SniPattern::parse("evil.example", nullptr);
  EXPECT_TRUE(exact.matches("EVIL.Example."));
  auto wild = *SniPattern::parse("*.evil.example", nullptr);
  EXPECT_TRUE(wild.matches("WWW.EVIL.EXAMPLE."));
}

TEST(Action, RoundTrips) {
  for (Action a : {Action::inspect, Action::bypass, Action::block}) {
    EXPECT_EQ(parse_action(to_string(a)), a);
  }
  EXPECT_FALSE(parse_action("Bypass"));
  EXPECT_FALSE(parse_action("allow"));
}

}  // namespace
}  // namespace tlsgate::policy
