// [groups] and `client = "@name"` (DESIGN.md §4: a rule's client is a CIDR or
// a group): a group stands for its prefixes in the matcher and the kernel.
#include <gtest/gtest.h>

#include <string>

#include "config/config_loader.h"
#include "policy/kernel_rule_compiler.h"
#include "policy/rule_matcher.h"

namespace tlsgate::config {
namespace {

const std::string kHead = "[gateway]\nlan_interfaces = [\"eth1\"]\n";

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

TEST(ClientGroups, ARuleNamingAGroupMatchesEveryMemberPrefix) {
  const auto c = load_config_text(kHead + R"(
[[rule]]
name = "printers-bypass"
action = "bypass"
client = ["@printers", "192.0.2.7"]
[groups]
printers = ["10.0.5.0/24", "2001:db8:5::/48"]
phones = "10.0.9.0/24"
)",
                                  "gw.toml");
  ASSERT_EQ(c.rules.rules.size(), 1u);
  const auto& rule = c.rules.rules[0];
  ASSERT_EQ(rule.client.size(), 3u);
  for (const char* member : {"10.0.5.20", "2001:db8:5::9", "192.0.2.7"}) {
    policy::FlowFacts facts{ip(member), Endpoint{ip("198.51.100.1"), 443}, std::nullopt};
    EXPECT_EQ(policy::match(c.rules, facts).rule_name, "printers-bypass") << member;
  }
  policy::FlowFacts other{ip("10.0.9.1"), Endpoint{ip("198.51.100.1"), 443}, std::nullopt};
  EXPECT_EQ(policy::match(c.rules, other).rule_name, "default");
  // Client-only bypass: decided in the kernel, for the group's prefixes too.
  const auto compiled = policy::compile_kernel_rules(c.rules, c.intercept_ports);
  EXPECT_EQ(compiled.client_bypass.size(), 3u);
}

void expect_error(const std::string& text, int line, const std::string& fragment) {
  try {
    load_config_text(kHead + text, "gw.toml");
    ADD_FAILURE() << "loaded: " << text;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(ClientGroups, MistakesNameTheLine) {
  expect_error(
      "[[rule]]\naction = \"bypass\"\nclient = \"@printer\"\n[groups]\nprinters = "
      "\"10.0.5.0/24\"\n",
      5, "no group 'printer' in [groups]");
  expect_error("[groups]\nprinters = [\"10.0.5.1/24\"]\n", 4, "host bits set");
  expect_error("[groups]\nPrinters = \"10.0.5.0/24\"\n", 4, "group name 'Printers'");
  expect_error("[groups]\nprinters = 5\n", 4, "printers");
}

}  // namespace
}  // namespace tlsgate::config
