#include "pages/threat_block_page.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tlsgate::pages {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ThreatBlockPage, NamesTheHostAndTheListAndIsForbidden) {
  const PageResponse page = render_threat_block_page("evil.example", "malware");
  EXPECT_EQ(page.status, 403);
  EXPECT_THAT(page.body, HasSubstr("<strong>evil.example</strong>"));
  EXPECT_THAT(page.body, HasSubstr("threat list <strong>malware</strong>"));
  EXPECT_THAT(page.body, HasSubstr("Reason code: list:malware"));
  EXPECT_EQ(page.header("cache-control"), "no-store");
}

TEST(ThreatBlockPage, NeverEchoesTheRequestedPath) {
  const PageHandler handler = make_threat_block_handler("<i>evil</i>.example", "malware");
  const PageResponse page =
      handler(PageRequest{"GET", "evil.example", "/payload-<script>alert(1)</script>"});
  EXPECT_EQ(page.status, 403);
  EXPECT_THAT(page.body, Not(HasSubstr("payload")));
  EXPECT_THAT(page.body, Not(HasSubstr("<script>")));
  EXPECT_THAT(page.body, Not(HasSubstr("<i>evil")));
  EXPECT_THAT(page.body, HasSubstr("&lt;i&gt;evil&lt;/i&gt;.example"));
}

}  // namespace
}  // namespace tlsgate::pages
