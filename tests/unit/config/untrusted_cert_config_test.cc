// [upstream] untrusted_server_cert / revocation / prompt_exception_ttl and
// the per-rule override: read as written, safe defaults, errors with lines.
#include <gtest/gtest.h>

#include <string>

#include "config/config_loader.h"

namespace tlsgate::config {
namespace {

using namespace std::chrono_literals;
using policy::UntrustedCertAction;

const std::string kHead = "[gateway]\nlan_interfaces = [\"eth1\"]\n";

GatewayConfig load(const std::string& text) {
  return load_config_text(kHead + text, "t.toml");
}

void expect_error(const std::string& text, int line, const std::string& fragment) {
  SCOPED_TRACE(text);
  try {
    load(text);
    ADD_FAILURE() << "loaded without error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(UntrustedCertConfig, SafeDefaults) {
  const GatewayConfig c = load("");
  EXPECT_EQ(c.rules.untrusted_server_cert.default_action, UntrustedCertAction::block);
  EXPECT_TRUE(c.rules.untrusted_server_cert.per_class.empty());
  EXPECT_EQ(c.revocation, RevocationMode::soft_fail);
  EXPECT_EQ(c.prompt_exception_ttl, 1h);
}

TEST(UntrustedCertConfig, ExampleConfigDocumentsTheDefaults) {
  const GatewayConfig c =
      load_config_file(std::string(TLSGATE_SOURCE_DIR) + "/systemd/tlsgate.toml.example");
  const GatewayConfig defaults = load("");
  EXPECT_EQ(c.rules.untrusted_server_cert, defaults.rules.untrusted_server_cert);
  EXPECT_EQ(c.revocation, defaults.revocation);
  EXPECT_EQ(c.prompt_exception_ttl, defaults.prompt_exception_ttl);
}

TEST(UntrustedCertConfig, OneActionForEveryClass) {
  const GatewayConfig c = load("[upstream]\nuntrusted_server_cert = \"prompt\"\n");
  EXPECT_EQ(c.rules.untrusted_server_cert.decide("expired"), UntrustedCertAction::prompt);
  EXPECT_EQ(c.rules.untrusted_server_cert.decide("self_signed"), UntrustedCertAction::prompt);
}

TEST(UntrustedCertConfig, InlineTablePerClass) {
  const GatewayConfig c = load(
      "[upstream]\nuntrusted_server_cert = { default = \"prompt\", expired = \"allow\", "
      "self_signed = \"untrusted_ca\", hostname_mismatch = \"block\" }\n"
      "revocation = \"hard_fail\"\nprompt_exception_ttl = \"15m\"\n");
  const auto& p = c.rules.untrusted_server_cert;
  EXPECT_EQ(p.default_action, UntrustedCertAction::prompt);
  EXPECT_EQ(p.decide("expired"), UntrustedCertAction::allow);
  EXPECT_EQ(p.decide("self_signed"), UntrustedCertAction::untrusted_ca);
  EXPECT_EQ(p.decide("hostname_mismatch"), UntrustedCertAction::block);
  EXPECT_EQ(p.decide("untrusted_root"), UntrustedCertAction::prompt);
  EXPECT_EQ(c.revocation, RevocationMode::hard_fail);
  EXPECT_EQ(c.prompt_exception_ttl, 15min);
}

TEST(UntrustedCertConfig, StandardTableFormWorksToo) {
  const GatewayConfig c =
      load("[upstream.untrusted_server_cert]\ndefault = \"prompt\"\nrevoked = \"block\"\n");
  EXPECT_EQ(c.rules.untrusted_server_cert.decide("expired"), UntrustedCertAction::prompt);
  EXPECT_EQ(c.rules.untrusted_server_cert.decide("revoked"), UntrustedCertAction::block);
}

TEST(UntrustedCertConfig, TableWithoutDefaultBlocksTheRest) {
  const GatewayConfig c = load("[upstream]\nuntrusted_server_cert = { expired = \"prompt\" }\n");
  EXPECT_EQ(c.rules.untrusted_server_cert.decide("expired"), UntrustedCertAction::prompt);
  EXPECT_EQ(c.rules.untrusted_server_cert.decide("revoked"), UntrustedCertAction::block);
}

TEST(UntrustedCertConfig, RuleOverridesForItsFlowsOnly) {
  const GatewayConfig c = load(
      "[upstream]\nuntrusted_server_cert = \"block\"\n"
      "[[rule]]\nname = \"lab\"\naction = \"inspect\"\nsni = \"*.lab.test\"\n"
      "untrusted_server_cert = { default = \"prompt\", revoked = \"block\" }\n"
      "[[rule]]\nname = \"other\"\naction = \"inspect\"\nsni = \"x.test\"\n");
  ASSERT_EQ(c.rules.rules.size(), 2u);
  ASSERT_TRUE(c.rules.rules[0].untrusted_server_cert.has_value());
  EXPECT_EQ(c.rules.rules[0].untrusted_server_cert->decide("expired"), UntrustedCertAction::prompt);
  EXPECT_EQ(c.rules.rules[0].untrusted_server_cert->decide("revoked"), UntrustedCertAction::block);
  EXPECT_FALSE(c.rules.rules[1].untrusted_server_cert.has_value());
  policy::Verdict other{policy::Action::inspect, 1, "other"};
  EXPECT_EQ(c.rules.untrusted_policy_for(other).decide("expired"), UntrustedCertAction::block);
}

TEST(UntrustedCertConfig, Errors) {
  expect_error("[upstream]\nuntrusted_server_cert = \"warn\"\n", 4,
               "'untrusted_server_cert' in [upstream] must be one of \"block\", \"prompt\", "
               "\"untrusted_ca\", \"allow\" (got \"warn\")");
  expect_error("[upstream]\nuntrusted_server_cert = true\n", 4,
               "must be an action (\"block\", \"prompt\", \"untrusted_ca\", \"allow\") or an "
               "inline table");
  expect_error("[upstream]\nuntrusted_server_cert = { expird = \"allow\" }\n", 4,
               "unknown failure class 'expird' (did you mean 'expired'?)");
  expect_error("[upstream]\nuntrusted_server_cert = { colour = \"allow\" }\n", 4,
               "unknown failure class 'colour'; known classes: default, expired");
  expect_error("[upstream]\nuntrusted_server_cert = { expired = \"yes\" }\n", 4,
               "'expired' must be one of");
  expect_error("[upstream]\nuntrusted_server_cert = { default = 1 }\n", 4,
               "'default' must be a string");
  expect_error("[upstream]\nuntrusted_server_cert = { bad_protocol = \"allow\" }\n", 4,
               "'bad_protocol' can only be \"block\"");
  expect_error("[upstream]\nuntrusted_server_cert = { client_cert_required = \"prompt\" }\n", 4,
               "'client_cert_required' can only be \"block\"");
  // The table form spread over lines: the line of the offending key.
  expect_error(
      "[upstream]\n[upstream.untrusted_server_cert]\nexpired = \"allow\"\n"
      "typo = \"block\"\n",
      6, "unknown failure class 'typo'");
  expect_error("[upstream]\nrevocation = \"hard\"\n", 4,
               "'revocation' in [upstream] must be one of \"soft_fail\", \"hard_fail\"");
  expect_error("[upstream]\nprompt_exception_ttl = \"0s\"\n", 4, "prompt_exception_ttl");
  expect_error("[upstream]\nprompt_exception_ttl = \"48h\"\n", 4, "longer than 24h");
  expect_error("[upstream]\nuntrusted_servr_cert = \"block\"\n", 4,
               "did you mean 'untrusted_server_cert'?");
}

TEST(UntrustedCertConfig, RuleOverrideOnlyOnInspectRules) {
  expect_error(
      "[[rule]]\naction = \"bypass\"\nsni = \"a.test\"\nuntrusted_server_cert = \"allow\"\n", 6,
      "applies only to inspected flows, but the rule's action is \"bypass\"");
  expect_error("[[rule]]\naction = \"inspect\"\nuntrusted_server_cert = { expired = \"maybe\" }\n",
               5, "'untrusted_server_cert' in [[rule]] #1: 'expired' must be one of");
}

TEST(UntrustedCertConfig, EveryClassNameIsAccepted) {
  for (std::string_view c : policy::cert_error_class_names()) {
    SCOPED_TRACE(std::string(c));
    EXPECT_NO_THROW(
        load("[upstream]\nuntrusted_server_cert = { " + std::string(c) + " = \"block\" }\n"));
  }
}

}  // namespace
}  // namespace tlsgate::config
