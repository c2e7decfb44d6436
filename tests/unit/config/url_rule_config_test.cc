// [[rule]] url and method: the request matchers.
#include <gtest/gtest.h>

#include <string>

#include "config/config_loader.h"
#include "config/rule_editor.h"
#include "expect_config_error.h"

namespace tlsgate::config {
namespace {

const std::string kHead = "[gateway]\nlan_interfaces = [\"eth1\"]\n";

void expect_error(const std::string& body, int line, const std::string& fragment) {
  test::expect_config_error(kHead + body, line, fragment);
}

TEST(UrlRuleKeys, ReadsUrlAndMethod) {
  const auto config = load_config_text(kHead +
                                           "[[rule]]\nname = \"no-admin\"\naction = \"block\"\n"
                                           "url = [\"shop.example/admin/*\", \"*/wp-login.php\"]\n"
                                           "method = [\"post\", \"PUT\", \"POST\"]\n",
                                       "gw.toml");
  const auto& rule = config.rules.rules.at(0);
  ASSERT_EQ(rule.url.size(), 2u);
  EXPECT_EQ(rule.url[0].to_string(), "shop.example/admin/*");
  EXPECT_EQ(rule.methods, (std::vector<std::string>{"POST", "PUT"}));
  EXPECT_TRUE(rule.has_request_matcher());
}

TEST(UrlRuleKeys, RefusesFlowOnlySettingsAndBypass) {
  expect_error("[[rule]]\naction = \"bypass\"\nurl = \"a.example/x\"\n", 5, "not \"bypass\"");
  expect_error("[[rule]]\naction = \"inspect\"\nca = \"corp\"\nmethod = \"POST\"\n", 5,
               "applies to whole flows");
  expect_error("[[rule]]\naction = \"block\"\nmethod = \"POST\"\nicap = []\n", 6,
               "applies to whole flows");
  expect_error("[[rule]]\naction = \"block\"\nurl = \"a.example/x y\"\n", 5, "space");
  expect_error("[[rule]]\naction = \"block\"\nmethod = \"G E T\"\n", 5, "not an HTTP method");
}

TEST(UrlRuleKeys, RuleEditorWritesThem) {
  RuleSpec spec;
  spec.name = "no-upload";
  spec.action = "block";
  spec.url = {"files.example/upload/*"};
  spec.method = {"POST"};
  const auto edited = add_rule(kHead, "gw.toml", spec, std::nullopt);
  ASSERT_EQ(edited.config.rules.rules.size(), 1u);
  EXPECT_EQ(edited.config.rules.rules[0].url.at(0).to_string(), "files.example/upload/*");
  EXPECT_EQ(edited.config.rules.rules[0].methods, std::vector<std::string>{"POST"});
}

}  // namespace
}  // namespace tlsgate::config
