#include "filters/url_rule_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_exchange.h"

namespace tlsgate::filters {
namespace {

using test::FakeExchange;
using test::flow_to;
using test::request;
using ::testing::HasSubstr;

policy::Rule rule(const char* name, policy::Action action, std::vector<const char*> urls,
                  std::vector<std::string> methods = {}) {
  policy::Rule r;
  r.name = name;
  r.action = action;
  for (const char* u : urls) r.url.push_back(*policy::UrlPattern::parse(u, nullptr));
  r.methods = std::move(methods);
  return r;
}

class UrlRuleFilterTest : public ::testing::Test {
 protected:
  void set_rules(std::vector<policy::Rule> rules) {
    auto set = std::make_shared<policy::RuleSet>();
    set->rules = std::move(rules);
    slot.store(set);
  }
  http::FilterStep step(const std::string& sni, http::RequestHead head) {
    auto filter = factory.make(flow_to(sni));
    if (!filter) return http::FilterStep::proceed();
    FakeExchange ex(flow_to(sni), std::move(head));
    auto s = filter->on_request_head(ex);
    notes = ex.notes;
    return s;
  }

  RuleSetSlot slot;
  UrlRuleFilterFactory factory{slot};
  std::map<std::string, std::string> notes;
};

TEST_F(UrlRuleFilterTest, BlockedUrlGetsThePageNamingTheRule) {
  set_rules({rule("no-admin", policy::Action::block, {"shop.example/admin/*"})});
  const auto blocked = step("shop.example", request("GET", "shop.example", "/admin/users"));
  ASSERT_EQ(blocked.kind(), http::FilterStep::Kind::reply);
  EXPECT_EQ(blocked.reply().status, 403);
  EXPECT_EQ(blocked.reply().outcome, "blocked");
  EXPECT_EQ(blocked.reply().detail, "rule:no-admin");
  EXPECT_THAT(blocked.reply().body, HasSubstr("Blocked by rule <strong>no-admin</strong>"));
  EXPECT_THAT(blocked.reply().body, HasSubstr("https://shop.example/admin/users"));
  EXPECT_EQ(notes["url_rule"], "no-admin");

  EXPECT_EQ(step("shop.example", request("GET", "shop.example", "/catalog")).kind(),
            http::FilterStep::Kind::proceed);
}

TEST_F(UrlRuleFilterTest, FirstMatchWinsAndInspectLetsThrough) {
  set_rules({rule("allow-status", policy::Action::inspect, {"shop.example/admin/status"}),
             rule("no-admin", policy::Action::block, {"shop.example/admin/*"}),
             rule("no-upload", policy::Action::block, {}, {"POST"})});
  EXPECT_EQ(step("shop.example", request("GET", "shop.example", "/admin/status")).kind(),
            http::FilterStep::Kind::proceed);
  EXPECT_EQ(notes["url_rule"], "allow-status");
  EXPECT_EQ(step("shop.example", request("GET", "shop.example:443", "/admin/x")).kind(),
            http::FilterStep::Kind::reply);
  const auto post = step("shop.example", request("POST", "shop.example", "/cart"));
  ASSERT_EQ(post.kind(), http::FilterStep::Kind::reply);
  EXPECT_EQ(post.reply().detail, "rule:no-upload");
}

TEST_F(UrlRuleFilterTest, FlowMatchersChooseTheFlowsARuleWatches) {
  auto only_lab = rule("lab-no-post", policy::Action::block, {}, {"POST"});
  only_lab.client.push_back(*Cidr::parse("10.9.0.0/16"));
  auto only_shop = rule("shop-no-admin", policy::Action::block, {"*/admin/*"});
  only_shop.sni.push_back(*policy::SniPattern::parse("shop.example", nullptr));
  set_rules({only_lab, only_shop});
  // Neither applies to a client outside 10.9/16 on another site.
  EXPECT_EQ(step("news.example", request("GET", "news.example", "/admin/")).kind(),
            http::FilterStep::Kind::proceed);
  EXPECT_EQ(step("shop.example", request("GET", "shop.example", "/admin/")).kind(),
            http::FilterStep::Kind::reply);
  EXPECT_EQ(step("shop.example", request("POST", "shop.example", "/cart")).kind(),
            http::FilterStep::Kind::proceed);
}

TEST_F(UrlRuleFilterTest, AReloadAppliesToFlowsAlreadyOpen) {
  auto filter = factory.make(flow_to("shop.example"));  // before any rule exists
  ASSERT_NE(filter, nullptr);
  auto judge = [&](const char* path) {
    FakeExchange ex(flow_to("shop.example"), request("GET", "shop.example", path));
    return filter->on_request_head(ex).kind();
  };
  EXPECT_EQ(judge("/admin/users"), http::FilterStep::Kind::proceed);
  set_rules({rule("no-admin", policy::Action::block, {"shop.example/admin/*"})});
  EXPECT_EQ(judge("/admin/users"), http::FilterStep::Kind::reply);
  set_rules({rule("no-cart", policy::Action::block, {"shop.example/cart"})});
  EXPECT_EQ(judge("/admin/users"), http::FilterStep::Kind::proceed);
  EXPECT_EQ(judge("/cart"), http::FilterStep::Kind::reply);
}

}  // namespace
}  // namespace tlsgate::filters
