// Escaping of echoed values (SECURITY-BATTERY case 26).
#include "pages/html.h"

#include <gtest/gtest.h>

namespace tlsgate::pages {
namespace {

TEST(HtmlEscape, MarkupCharactersBecomeEntities) {
  EXPECT_EQ(html_escape("<script>alert(\"x\")</script>"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  EXPECT_EQ(html_escape("a&b 'c'"), "a&amp;b &#39;c&#39;");
  EXPECT_EQ(html_escape("&amp;"), "&amp;amp;");  // never "already escaped"
}

TEST(HtmlEscape, ValidUtf8IsKept) {
  EXPECT_EQ(html_escape("caf\xc3\xa9.example"), "caf\xc3\xa9.example");
  EXPECT_EQ(html_escape("\xe4\xb8\xad\xe6\x96\x87"), "\xe4\xb8\xad\xe6\x96\x87");
  EXPECT_EQ(html_escape("\xf0\x9f\x94\x92"), "\xf0\x9f\x94\x92");
}

TEST(HtmlEscape, ControlBytesAndInvalidUtf8BecomeReplacementCharacters) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(html_escape(std::string("a\0b", 3)), "a" + fffd + "b");
  EXPECT_EQ(html_escape("a\r\nb"), "a" + fffd + fffd + "b");
  EXPECT_EQ(html_escape("\xff"), fffd);
  EXPECT_EQ(html_escape("\xc0\xbc"), fffd + fffd);             // overlong '<'
  EXPECT_EQ(html_escape("\xed\xa0\x80"), fffd + fffd + fffd);  // surrogate
  EXPECT_EQ(html_escape("\xc2\x85"), fffd + fffd);             // C1 control (NEL)
  EXPECT_EQ(html_escape("\xe4\xb8"), fffd + fffd);             // truncated sequence
}

}  // namespace
}  // namespace tlsgate::pages
