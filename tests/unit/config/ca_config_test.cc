// [ca] (distribution endpoint, rotation timing) and a rule's `ca`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/ca_section.h"
#include "config/config_loader.h"

namespace tlsgate::config {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

const std::string kHead = "[gateway]\nlan_interfaces = [\"lan0\"]\n";

std::string error_of(const std::string& text) {
  try {
    load_config_text(text, "t.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(CaConfig, DefaultsAndTheExampleAgree) {
  const CaSettings defaults;
  EXPECT_TRUE(defaults.distribution_listen.empty());
  EXPECT_EQ(defaults.retire_after, std::chrono::hours(24 * 30));
  EXPECT_EQ(defaults.fallback_retry, 1h);
  const GatewayConfig example =
      load_config_file(std::string(TLSGATE_SOURCE_DIR) + "/systemd/tlsgate.toml.example");
  EXPECT_TRUE(example.ca.distribution_listen.empty());
  EXPECT_EQ(example.ca.retire_after, defaults.retire_after);
  EXPECT_EQ(example.ca.fallback_retry, defaults.fallback_retry);
}

TEST(CaConfig, SectionIsRead) {
  const GatewayConfig c = load_config_text(kHead +
                                               "[ca]\n"
                                               "distribution_listen = [\"10.0.0.1:80\", "
                                               "\"[fd00::1]:8080\", \"lan0:80\"]\n"
                                               "retire_after = \"14d\"\n"
                                               "fallback_retry = \"2s\"\n",
                                           "t.toml");
  ASSERT_EQ(c.ca.distribution_listen.size(), 3u);
  EXPECT_EQ(c.ca.distribution_listen[0].address, IpAddress::parse("10.0.0.1"));
  EXPECT_EQ(c.ca.distribution_listen[0].port, 80);
  EXPECT_EQ(c.ca.distribution_listen[1].to_string(), "[fd00::1]:8080");
  EXPECT_FALSE(c.ca.distribution_listen[2].address);
  EXPECT_EQ(c.ca.distribution_listen[2].interface, "lan0");
  EXPECT_EQ(c.ca.retire_after, std::chrono::hours(24 * 14));
  EXPECT_EQ(c.ca.fallback_retry, 2s);
  EXPECT_EQ(load_config_text(kHead + "[ca]\nretire_after = \"12h\"\n", "t").ca.retire_after, 12h);
}

TEST(CaConfig, BadValuesAreRefusedWithTheLine) {
  EXPECT_THAT(error_of(kHead + "[ca]\ndistribution_listen = \"10.0.0.1\"\n"),
              HasSubstr("t.toml:4: 'distribution_listen' in [ca]"));
  EXPECT_THAT(error_of(kHead + "[ca]\ndistribution_listen = \"fd00::1:80\"\n"),
              HasSubstr("brackets"));
  EXPECT_THAT(error_of(kHead + "[ca]\ndistribution_listen = \"10.0.0.1:0\"\n"),
              HasSubstr("port must be 1 to 65535"));
  EXPECT_THAT(error_of(kHead + "[ca]\ndistribution_listen = [\"a:80\", \"a:80\"]\n"),
              HasSubstr("listed twice"));
  EXPECT_THAT(error_of(kHead + "[ca]\nretire_after = \"0d\"\n"), HasSubstr("1d to 3650d"));
  EXPECT_THAT(error_of(kHead + "[ca]\nretire_after = \"48h\"\n"), HasSubstr("longer than 24h"));
  EXPECT_THAT(error_of(kHead + "[ca]\nfallback_retry = \"500ms\"\n"), HasSubstr("under 1s"));
  EXPECT_THAT(error_of(kHead + "[ca]\nretire_afterr = \"1d\"\n"), HasSubstr("retire_after"));
  EXPECT_THAT(error_of(kHead + "[ac]\n"), HasSubstr("did you mean [ca]"));
}

TEST(CaConfig, ARuleMayNameItsCa) {
  const GatewayConfig c = load_config_text(
      kHead +
          "[[rule]]\nname = \"corp\"\naction = \"inspect\"\nclient = \"10.1.0.0/16\"\n"
          "ca = \"corp-2025\"\n[[rule]]\nname = \"rest\"\naction = \"inspect\"\n",
      "t.toml");
  EXPECT_EQ(c.rules.rules[0].ca, "corp-2025");
  EXPECT_EQ(c.rules.rules[1].ca, "");
  policy::Verdict v{policy::Action::inspect, 0, "corp"};
  EXPECT_EQ(c.rules.ca_for(v), "corp-2025");
  v.rule_index = std::nullopt;
  EXPECT_EQ(c.rules.ca_for(v), "");
}

TEST(CaConfig, ARuleCaMustBeANameAndOnlyOnInspect) {
  EXPECT_THAT(error_of(kHead + "[[rule]]\naction = \"inspect\"\nca = \"Corp CA\"\n"),
              HasSubstr("t.toml:5: 'ca' in [[rule]] #1: \"Corp CA\" is not a CA name"));
  EXPECT_THAT(error_of(kHead + "[[rule]]\naction = \"bypass\"\nsni = \"a.example\"\nca = \"x\"\n"),
              HasSubstr("applies only to inspected flows"));
  EXPECT_TRUE(valid_ca_name("default"));
  EXPECT_TRUE(valid_ca_name("corp_2025-b"));
  EXPECT_FALSE(valid_ca_name("-corp"));
  EXPECT_FALSE(valid_ca_name(std::string(33, 'a')));
}

}  // namespace
}  // namespace tlsgate::config
