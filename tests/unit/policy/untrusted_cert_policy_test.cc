// The untrusted_server_cert policy (DESIGN.md §5): per-class actions, the
// default, the strictest action for several defects, and per-rule overrides.
#include <gtest/gtest.h>

#include "policy/rule.h"

namespace tlsgate::policy {
namespace {

using A = UntrustedCertAction;

TEST(UntrustedCertPolicy, DefaultIsBlockForEveryClass) {
  UntrustedCertPolicy policy;
  for (std::string_view c : cert_error_class_names()) EXPECT_EQ(policy.decide(c), A::block) << c;
}

TEST(UntrustedCertPolicy, ListedClassesOverrideTheDefault) {
  UntrustedCertPolicy policy;
  policy.default_action = A::prompt;
  policy.per_class = {{"expired", A::allow}, {"hostname_mismatch", A::block}};
  EXPECT_EQ(policy.decide("expired"), A::allow);
  EXPECT_EQ(policy.decide("hostname_mismatch"), A::block);
  EXPECT_EQ(policy.decide("self_signed"), A::prompt);
}

TEST(UntrustedCertPolicy, HandshakeFailuresAreAlwaysBlocked) {
  UntrustedCertPolicy policy;
  policy.default_action = A::allow;
  EXPECT_EQ(policy.decide("bad_protocol"), A::block);
  EXPECT_EQ(policy.decide("client_cert_required"), A::block);
  EXPECT_EQ(policy.decide("no_certificate"), A::block);
  EXPECT_EQ(policy.decide("expired"), A::allow);
}

TEST(UntrustedCertPolicy, StricterOrdersBlockPromptUntrustedCaAllow) {
  EXPECT_EQ(stricter(A::allow, A::block), A::block);
  EXPECT_EQ(stricter(A::prompt, A::untrusted_ca), A::prompt);
  EXPECT_EQ(stricter(A::untrusted_ca, A::allow), A::untrusted_ca);
  EXPECT_EQ(stricter(A::block, A::prompt), A::block);
  EXPECT_EQ(stricter(A::allow, A::allow), A::allow);
}

TEST(UntrustedCertPolicy, ActionNamesRoundTrip) {
  for (A a : {A::block, A::prompt, A::untrusted_ca, A::allow}) {
    EXPECT_EQ(parse_untrusted_cert_action(to_string(a)), a);
  }
  EXPECT_FALSE(parse_untrusted_cert_action("Block").has_value());
  EXPECT_FALSE(parse_untrusted_cert_action("").has_value());
}

TEST(UntrustedCertPolicy, RuleOverrideAppliesOnlyToFlowsOfThatRule) {
  RuleSet rules;
  rules.untrusted_server_cert.default_action = A::block;
  Rule lab;
  lab.name = "lab";
  lab.untrusted_server_cert = UntrustedCertPolicy{A::prompt, {}};
  Rule plain;
  plain.name = "plain";
  rules.rules = {lab, plain};

  Verdict by_lab{Action::inspect, 0, "lab"};
  Verdict by_plain{Action::inspect, 1, "plain"};
  Verdict by_default{Action::inspect, std::nullopt, "default"};
  EXPECT_EQ(rules.untrusted_policy_for(by_lab).decide("expired"), A::prompt);
  EXPECT_EQ(rules.untrusted_policy_for(by_plain).decide("expired"), A::block);
  EXPECT_EQ(rules.untrusted_policy_for(by_default).decide("expired"), A::block);
}

}  // namespace
}  // namespace tlsgate::policy
