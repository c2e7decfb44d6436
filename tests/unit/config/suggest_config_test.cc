// [suggest]: bypass suggestions and automatic scoped bypasses.
#include <gtest/gtest.h>

#include <string>

#include "config/config_loader.h"

namespace tlsgate::config {
namespace {

using std::chrono::milliseconds;

const std::string kHead = "[gateway]\nlan_interfaces = [\"eth1\"]\n[suggest]\n";

void expect_error(const std::string& body, const std::string& fragment) {
  try {
    load_config_text(kHead + body, "gw.toml");
    ADD_FAILURE() << "loaded: " << body;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), 4) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(SuggestKeys, DefaultsSuggestButNeverBypass) {
  const SuggestSettings s = load_config_text(kHead, "gw.toml").suggest;
  EXPECT_FALSE(s.auto_bypass);
  EXPECT_EQ(s.threshold, 3u);
  EXPECT_EQ(s.window, std::chrono::minutes(10));
  EXPECT_EQ(s.auto_bypass_expiry, std::chrono::hours(1));
  EXPECT_EQ(s.retest_interval, std::chrono::minutes(15));
  EXPECT_EQ(s.device_prefix_v4, 32u);
  EXPECT_EQ(s.device_prefix_v6, 128u);
}

TEST(SuggestKeys, ParsesValues) {
  const SuggestSettings s = load_config_text(kHead +
                                                 "threshold = 5\n"
                                                 "window = \"30m\"\n"
                                                 "auto_bypass = true\n"
                                                 "auto_bypass_expiry = \"8h\"\n"
                                                 "retest_interval = \"90s\"\n"
                                                 "device_prefix_v4 = 24\n"
                                                 "device_prefix_v6 = 64\n",
                                             "gw.toml")
                                .suggest;
  EXPECT_EQ(s.threshold, 5u);
  EXPECT_EQ(s.window, std::chrono::minutes(30));
  EXPECT_TRUE(s.auto_bypass);
  EXPECT_EQ(s.auto_bypass_expiry, std::chrono::hours(8));
  EXPECT_EQ(s.retest_interval, milliseconds(90000));
  EXPECT_EQ(s.device_prefix_v4, 24u);
  EXPECT_EQ(s.device_prefix_v6, 64u);
}

TEST(SuggestKeys, NeverFromASingleFailure) {
  expect_error("threshold = 1\n", "threshold");
  expect_error("threshold = 0\n", "threshold");
  expect_error("threshold = 101\n", "threshold");
}

TEST(SuggestKeys, RejectsBadValues) {
  expect_error("auto_bypass = \"yes\"\n", "auto_bypass");
  expect_error("window = \"0s\"\n", "window");
  expect_error("device_prefix_v4 = 8\n", "device_prefix_v4");
  expect_error("device_prefix_v6 = 129\n", "device_prefix_v6");
  expect_error("auto_bypas = true\n", "auto_bypass");  // a near miss is named
}

TEST(SuggestKeys, TheExampleDocumentsTheDefaults) {
  const GatewayConfig c =
      load_config_file(std::string(TLSGATE_SOURCE_DIR) + "/systemd/tlsgate.toml.example");
  const SuggestSettings d;
  EXPECT_EQ(c.suggest.threshold, d.threshold);
  EXPECT_EQ(c.suggest.window, d.window);
  EXPECT_EQ(c.suggest.auto_bypass, d.auto_bypass);
  EXPECT_EQ(c.suggest.auto_bypass_expiry, d.auto_bypass_expiry);
  EXPECT_EQ(c.suggest.retest_interval, d.retest_interval);
  EXPECT_EQ(c.suggest.device_prefix_v4, d.device_prefix_v4);
  EXPECT_EQ(c.suggest.device_prefix_v6, d.device_prefix_v6);
}

}  // namespace
}  // namespace tlsgate::config
