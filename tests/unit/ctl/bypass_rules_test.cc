#include "ctl/bypass_rules.h"

#include <gtest/gtest.h>

namespace tlsgate::ctl {
namespace {

using nlohmann::json;

TEST(BypassRules, NamesSayWhatIsBypassed) {
  EXPECT_EQ(bypass_rule_name({{"bank.example"}, {}, {}}), "bypass-sni-bank.example");
  EXPECT_EQ(bypass_rule_name({{"a.example", "*.b.example"}, {}, {"10.0.0.0/8"}}),
            "bypass-sni-a.example+sni-*.b.example+client-10.0.0.0/8");
  EXPECT_EQ(bypass_rule_name({{}, {"192.0.2.1"}, {}}), "bypass-dst-192.0.2.1");
}

TEST(BypassRules, AddRequestGoesFirstUnlessToldOtherwise) {
  const BypassMatch m{{"bank.example"}, {"192.0.2.0/24"}, {}};
  const json first = bypass_add_request(m, "n", std::nullopt);
  EXPECT_EQ(first, json::parse(R"({"command":"rules.add","position":1,"rule":{
      "name":"n","action":"bypass","sni":["bank.example"],"dst":["192.0.2.0/24"]}})"));
  EXPECT_EQ(bypass_add_request(m, "n", 3)["position"], 3);
}

TEST(BypassRules, DeleteFindsRulesWithExactlyTheseMatchers) {
  const json list = json::parse(R"({"rules":[
    {"name":"b1","action":"bypass","sni":["bank.example"],"dst":[],"client":[],"port":[]},
    {"name":"b2","action":"bypass","sni":["bank.example","x.example"],"dst":[],"client":[],"port":[]},
    {"name":"blk","action":"block","sni":["bank.example"],"dst":[],"client":[],"port":[]},
    {"name":"b3","action":"bypass","sni":[],"dst":["10.0.0.1/32"],"client":[],"port":[]},
    {"name":"b4","action":"bypass","sni":["bank.example"],"dst":[],"client":[],"port":[443]},
    {"name":"b5","action":"bypass","sni":["bank.example"],"dst":[],"client":[],"port":[]}
  ]})");
  EXPECT_EQ(bypass_rules_matching(list, {{"Bank.Example."}, {}, {}}),
            (std::vector<std::string>{"b1", "b5"}));
  EXPECT_EQ(bypass_rules_matching(list, {{"x.example", "bank.example"}, {}, {}}),
            std::vector<std::string>{"b2"});
  EXPECT_EQ(bypass_rules_matching(list, {{}, {"10.0.0.1"}, {}}), std::vector<std::string>{"b3"});
  EXPECT_TRUE(bypass_rules_matching(list, {{}, {}, {"10.0.0.1"}}).empty());
}

}  // namespace
}  // namespace tlsgate::ctl
