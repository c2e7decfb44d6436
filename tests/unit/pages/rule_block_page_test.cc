#include "pages/rule_block_page.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tlsgate::pages {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RuleBlockPage, NamesTheHostAndTheRuleAndIsForbidden) {
  const PageResponse page = render_rule_block_page("social.example", "no-social", "/feed");
  EXPECT_EQ(page.status, 403);
  EXPECT_THAT(page.body, HasSubstr("<strong>social.example</strong>"));
  EXPECT_THAT(page.body, HasSubstr("Blocked by rule <strong>no-social</strong>"));
  EXPECT_THAT(page.body, HasSubstr("Requested: https://social.example/feed"));
  EXPECT_THAT(page.body, HasSubstr("Reason code: rule:no-social"));
  EXPECT_EQ(page.header("x-frame-options"), "DENY");
  EXPECT_THAT(std::string(page.header("content-security-policy")),
              HasSubstr("frame-ancestors 'none'"));
}

TEST(RuleBlockPage, EscapesWhatItEchoes) {
  const PageResponse page =
      render_rule_block_page("<b>x</b>.example", "r\"<script>", "/<img src=x onerror=1>");
  EXPECT_THAT(page.body, Not(HasSubstr("<script>")));
  EXPECT_THAT(page.body, Not(HasSubstr("<img")));
  EXPECT_THAT(page.body, Not(HasSubstr("<b>x</b>")));
  EXPECT_THAT(page.body, HasSubstr("&lt;b&gt;x&lt;/b&gt;.example"));
}

TEST(RuleBlockPage, HandlerAnswersEveryRequestWithThePage) {
  const PageHandler handler = make_rule_block_handler("social.example", "no-social");
  for (const char* path : {"/", "/favicon.ico", "/api?x=1"}) {
    const PageResponse page = handler(PageRequest{"GET", "social.example", path});
    EXPECT_EQ(page.status, 403);
    EXPECT_THAT(page.body, HasSubstr(std::string("https://social.example") + path));
  }
}

}  // namespace
}  // namespace tlsgate::pages
