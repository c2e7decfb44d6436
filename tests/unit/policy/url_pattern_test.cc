#include "policy/url_pattern.h"

#include <gtest/gtest.h>

#include "policy/kernel_rule_compiler.h"
#include "policy/rule_matcher.h"

namespace tlsgate::policy {
namespace {

UrlPattern url(const char* text) {
  std::string error;
  auto p = UrlPattern::parse(text, &error);
  EXPECT_TRUE(p.has_value()) << text << ": " << error;
  return p.value_or(UrlPattern{});
}

std::string parse_error(const char* text) {
  std::string error;
  return UrlPattern::parse(text, &error) ? "parsed" : error;
}

TEST(UrlPattern, ExactPathIgnoresTheQuery) {
  const auto p = url("Example.COM/login");
  EXPECT_EQ(p.to_string(), "example.com/login");
  EXPECT_TRUE(p.matches("example.com", "/login"));
  EXPECT_TRUE(p.matches("example.com", "/login?next=/"));
  EXPECT_TRUE(p.matches("example.com", "/%6Cogin"));
  EXPECT_FALSE(p.matches("example.com", "/login/"));
  EXPECT_FALSE(p.matches("example.com", "/Login"));
  EXPECT_FALSE(p.matches("www.example.com", "/login"));
}

TEST(UrlPattern, PrefixCoversTheDirectoryAndEverythingBelow) {
  const auto p = url("example.com/admin/*");
  EXPECT_EQ(p.kind, UrlPattern::Kind::prefix);
  EXPECT_TRUE(p.matches("example.com", "/admin"));
  EXPECT_TRUE(p.matches("example.com", "/admin/"));
  EXPECT_TRUE(p.matches("example.com", "/admin/users/7?x=1"));
  EXPECT_FALSE(p.matches("example.com", "/administrator"));
  EXPECT_FALSE(p.matches("example.com", "/public/admin/"));
}

TEST(UrlPattern, GlobAndAnyHost) {
  const auto exe = url("*.example.com/*.exe");
  EXPECT_EQ(exe.kind, UrlPattern::Kind::glob);
  EXPECT_TRUE(exe.matches("dl.example.com", "/files/setup.exe"));
  EXPECT_FALSE(exe.matches("example.com", "/setup.exe"));  // "*." never matches the apex
  EXPECT_FALSE(exe.matches("dl.example.com", "/setup.exe.txt"));
  const auto any = url("*/wp-login.php");
  EXPECT_TRUE(any.matches("blog.example", "/wp-login.php"));
  EXPECT_FALSE(any.matches("blog.example", "/wp-login.php.bak"));
  const auto query = url("example.com/search?q=*");
  EXPECT_TRUE(query.matches("example.com", "/search?q=cats"));
  EXPECT_FALSE(query.matches("example.com", "/search"));
  const auto site = url("example.com");
  EXPECT_TRUE(site.matches("example.com", "/"));
  EXPECT_TRUE(site.matches("example.com", "/a/b"));
  EXPECT_FALSE(site.matches("example.com", "*"));
}

TEST(UrlPattern, RefusesWhatCannotMatch) {
  EXPECT_NE(parse_error("").find("empty"), std::string::npos);
  EXPECT_NE(parse_error("http://example.com/x").find("https"), std::string::npos);
  EXPECT_NE(parse_error("example.com/a b").find("space"), std::string::npos);
  EXPECT_NE(parse_error("exa*mple.com/x").find("'*'"), std::string::npos);
  EXPECT_EQ(url("https://example.com/x").to_string(), "example.com/x");
}

TEST(UrlPattern, Methods) {
  std::string error;
  EXPECT_EQ(parse_method("post", &error), "POST");
  EXPECT_EQ(parse_method("GET /", &error), std::nullopt);
  EXPECT_NE(error.find("not an HTTP method"), std::string::npos);
}

Rule request_rule(const char* name, Action action, std::vector<const char*> urls,
                  std::vector<std::string> methods = {}) {
  Rule rule;
  rule.name = name;
  rule.action = action;
  for (const char* u : urls) rule.url.push_back(url(u));
  rule.methods = std::move(methods);
  return rule;
}

TEST(UrlRules, RequestMatchesNeedsEveryMatcher) {
  const auto rule =
      request_rule("uploads", Action::block, {"example.com/upload/*"}, {"POST", "PUT"});
  EXPECT_TRUE(request_matches(rule, "example.com", "POST", "/upload/a"));
  EXPECT_FALSE(request_matches(rule, "example.com", "GET", "/upload/a"));
  EXPECT_FALSE(request_matches(rule, "example.com", "POST", "/download/a"));
  const auto any_url = request_rule("no-delete", Action::block, {}, {"DELETE"});
  EXPECT_TRUE(request_matches(any_url, "x.example", "DELETE", "/anything"));
}

TEST(UrlRules, NeverDecideAFlowNorEnterTheKernel) {
  RuleSet rules;
  rules.rules.push_back(request_rule("block-admin", Action::block, {"bank.example/admin/*"}));
  Rule bypass;
  bypass.name = "banks";
  bypass.action = Action::bypass;
  bypass.sni.push_back(*SniPattern::parse("bank.example", nullptr));
  rules.rules.push_back(bypass);

  FlowFacts flow{*IpAddress::parse("10.0.0.5"),
                 {*IpAddress::parse("192.0.2.1"), 443},
                 std::string("bank.example")};
  const Verdict v = match(rules, flow);
  EXPECT_EQ(v.action, Action::bypass);
  EXPECT_EQ(v.rule_name, "banks");

  const std::vector<uint16_t> ports{443};
  const auto compiled = compile_kernel_rules(rules, ports);
  ASSERT_EQ(compiled.sni_bypass.size(), 1u);  // the request rule is not in the way
  EXPECT_EQ(compiled.sni_bypass[0].name, "bank.example");
  EXPECT_TRUE(compiled.not_compiled.empty());
}

}  // namespace
}  // namespace tlsgate::policy
