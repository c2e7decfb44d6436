// [paths] keys of the service: control socket, metrics address, journal.
#include <gtest/gtest.h>

#include <string>

#include "config/config_loader.h"

namespace tlsgate::config {
namespace {

const std::string kHead = "[gateway]\nlan_interfaces = [\"eth1\"]\n[paths]\n";

void expect_error(const std::string& body, const std::string& fragment) {
  try {
    load_config_text(kHead + body, "gw.toml");
    ADD_FAILURE() << "loaded: " << body;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), 4) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(OpsKeys, Defaults) {
  const GatewayConfig c = load_config_text(kHead, "gw.toml");
  EXPECT_EQ(c.control_socket, "/run/tlsgate/control.sock");
  ASSERT_TRUE(c.metrics_listen.has_value());
  EXPECT_EQ(c.metrics_listen->to_string(), "127.0.0.1:9477");
  EXPECT_TRUE(c.event_journal);
}

TEST(OpsKeys, TheExampleDocumentsTheDefaults) {
  const GatewayConfig c =
      load_config_file(std::string(TLSGATE_SOURCE_DIR) + "/systemd/tlsgate.toml.example");
  const GatewayConfig defaults;
  EXPECT_EQ(c.control_socket, defaults.control_socket);
  EXPECT_EQ(c.metrics_listen, defaults.metrics_listen);
  EXPECT_EQ(c.event_journal, defaults.event_journal);
}

TEST(OpsKeys, ParsesValues) {
  const GatewayConfig c = load_config_text(kHead +
                                               "control_socket = \"/tmp/x/../ctl.sock\"\n"
                                               "metrics_listen = \"[::1]:9100\"\n"
                                               "event_journal = false\n",
                                           "gw.toml");
  EXPECT_EQ(c.control_socket, "/tmp/ctl.sock");
  ASSERT_TRUE(c.metrics_listen.has_value());
  EXPECT_EQ(c.metrics_listen->to_string(), "[::1]:9100");
  EXPECT_FALSE(c.event_journal);
  const GatewayConfig off = load_config_text(kHead + "metrics_listen = \"\"\n", "gw.toml");
  EXPECT_FALSE(off.metrics_listen.has_value());
  const GatewayConfig v4 = load_config_text(kHead + "metrics_listen = \"10.1.2.3:80\"\n", "g");
  EXPECT_EQ(v4.metrics_listen->to_string(), "10.1.2.3:80");
}

TEST(OpsKeys, RefusesBadValues) {
  expect_error("control_socket = \"run/ctl.sock\"\n", "absolute path");
  expect_error("control_socket = \"\"\n", "absolute path");
  expect_error("metrics_listen = \"localhost:9477\"\n", "\"<address>:<port>\"");
  expect_error("metrics_listen = \"127.0.0.1\"\n", "\"<address>:<port>\"");
  expect_error("metrics_listen = \"127.0.0.1:0\"\n", "\"<address>:<port>\"");
  expect_error("metrics_listen = \"127.0.0.1:70000\"\n", "\"<address>:<port>\"");
  expect_error("metrics_listen = \"::1:9477\"\n", "\"[<ipv6>]:<port>\"");
  expect_error("metrics_listen = \"127.0.0.1:15443\"\n", "listen_port");
  expect_error("metrics_listen = 9477\n", "must be a string");
  expect_error("event_journal = \"yes\"\n", "must be true or false");
}

}  // namespace
}  // namespace tlsgate::config
