#include "config/restart_settings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config_loader.h"

namespace tlsgate::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

GatewayConfig load(const std::string& extra_gateway, const std::string& rules = "") {
  return load_config_text("[gateway]\nlan_interfaces = [\"eth1\"]\n" + extra_gateway + rules,
                          "test.toml");
}

TEST(RestartSettings, RuleChangesAreLiveNotARestart) {
  const auto running = load("");
  const auto next =
      load("", "[[rule]]\nname = \"b\"\naction = \"bypass\"\nsni = \"bank.example\"\n");
  EXPECT_THAT(settings_needing_restart(running, next), IsEmpty());
}

TEST(RestartSettings, NamesEveryChangedStartupSettingInFileOrder) {
  const auto running = load("");
  const auto next = load(
      "fail_mode = \"closed\"\nquic = \"allow\"\nidle_timeout = \"1m\"\n"
      "[paths]\nmetrics_listen = \"\"\n[upstream]\nrevocation = \"hard_fail\"\n");
  EXPECT_THAT(settings_needing_restart(running, next),
              ElementsAre("gateway.fail_mode", "gateway.quic", "gateway.idle_timeout",
                          "paths.metrics_listen", "upstream.revocation"));
  EXPECT_THAT(settings_needing_restart(next, next), IsEmpty());
}

TEST(RestartSettings, IcapServicesNeedARestart) {
  const std::string av = "[[icap]]\nname = \"av\"\nurl = \"icap://127.0.0.1/avscan\"\n";
  EXPECT_THAT(settings_needing_restart(load("", av), load("", av)), IsEmpty());
  EXPECT_THAT(settings_needing_restart(load(""), load("", av)), ElementsAre("icap"));
  EXPECT_THAT(settings_needing_restart(load("", av), load("", av + "timeout = \"2s\"\n")),
              ElementsAre("icap"));
}

TEST(RestartSettings, DistributionEndpointsAreCompared) {
  const auto running = load("");
  const auto next = load("[ca]\ndistribution_listen = [\"eth1:80\"]\n");
  EXPECT_THAT(settings_needing_restart(running, next), ElementsAre("ca.distribution_listen"));
}

}  // namespace
}  // namespace tlsgate::config
