#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "config/config_loader.h"

namespace tlsgate::config {
namespace {

using namespace std::chrono_literals;
using policy::Action;

TEST(ExampleConfig, LoadsWithDocumentedValues) {
  const GatewayConfig c =
      load_config_file(std::string(TLSGATE_SOURCE_DIR) + "/systemd/tlsgate.toml.example");
  EXPECT_EQ(c.lan_interfaces, std::vector<std::string>{"eth1"});
  EXPECT_EQ(c.intercept_ports, std::vector<uint16_t>{443});
  EXPECT_EQ(c.listen_port, 15443);
  EXPECT_EQ(c.workers, 0u);
  EXPECT_EQ(c.fail_mode, FailMode::open);
  EXPECT_EQ(c.non_tls, NonTlsMode::block);
  EXPECT_EQ(c.non_http, NonHttpMode::relay);
  EXPECT_EQ(c.steer_mark, 0x746cu);
  EXPECT_EQ(c.route_table, 29804u);
  EXPECT_EQ(c.max_client_hello, 16384u);
  EXPECT_EQ(c.max_connections_per_client, 1024u);
  EXPECT_EQ(c.max_connections_per_client, GatewayConfig{}.max_connections_per_client);
  EXPECT_EQ(c.handshake_timeout, 10s);
  EXPECT_EQ(c.connect_timeout, 5s);
  EXPECT_EQ(c.idle_timeout, 5min);
  EXPECT_EQ(c.drain_timeout, 5min);
  EXPECT_EQ(c.state_dir, "/var/lib/tlsgate");
  EXPECT_EQ(c.event_log, "/var/log/tlsgate/events.jsonl");
  EXPECT_EQ(c.bpf_pin_dir, "/sys/fs/bpf/tlsgate");
  EXPECT_TRUE(c.trust_store.empty());
  EXPECT_EQ(c.rules.default_action, Action::inspect);
  EXPECT_EQ(c.rules.block_response, policy::RuleSet::BlockResponse::alert);

  ASSERT_EQ(c.rules.rules.size(), 3u);
  const auto& banks = c.rules.rules[0];
  EXPECT_EQ(banks.name, "banks");
  EXPECT_EQ(banks.action, Action::bypass);
  ASSERT_EQ(banks.sni.size(), 2u);
  EXPECT_EQ(banks.sni[0].to_string(), "*.bank.example");
  EXPECT_EQ(banks.sni[1].to_string(), "bank.example");
  EXPECT_GT(banks.source_line, 0);

  const auto& printers = c.rules.rules[1];
  EXPECT_EQ(printers.action, Action::bypass);
  ASSERT_EQ(printers.client.size(), 2u);
  EXPECT_EQ(printers.client[0].to_string(), "192.0.2.0/28");
  EXPECT_EQ(printers.client[1].to_string(), "2001:db8:0:1::/64");

  const auto& blocked = c.rules.rules[2];
  EXPECT_EQ(blocked.action, Action::block);
  ASSERT_EQ(blocked.sni.size(), 1u);  // a single string is a one-element list
  EXPECT_EQ(blocked.sni[0].to_string(), "tracker.example");
  EXPECT_EQ(blocked.ports, std::vector<uint16_t>{443});
}

TEST(ConfigDefaults, OnlyLanInterfacesIsRequired) {
  const GatewayConfig c =
      load_config_text("[gateway]\nlan_interfaces = [\"lan0\", \"lan1\"]\n", "minimal.toml");
  const GatewayConfig defaults;
  EXPECT_EQ(c.lan_interfaces, (std::vector<std::string>{"lan0", "lan1"}));
  EXPECT_EQ(c.intercept_ports, defaults.intercept_ports);
  EXPECT_EQ(c.listen_port, defaults.listen_port);
  EXPECT_EQ(c.fail_mode, FailMode::open);
  EXPECT_EQ(c.non_tls, NonTlsMode::block);
  EXPECT_EQ(c.non_http, NonHttpMode::relay);
  EXPECT_EQ(c.steer_mark, defaults.steer_mark);
  EXPECT_EQ(c.route_table, defaults.route_table);
  EXPECT_EQ(c.max_client_hello, defaults.max_client_hello);
  EXPECT_EQ(c.handshake_timeout, 10s);
  EXPECT_EQ(c.connect_timeout, 5s);
  EXPECT_EQ(c.idle_timeout, 5min);
  EXPECT_EQ(c.drain_timeout, 5min);
  EXPECT_EQ(c.state_dir, defaults.state_dir);
  EXPECT_EQ(c.event_log, defaults.event_log);
  EXPECT_EQ(c.bpf_pin_dir, defaults.bpf_pin_dir);
  EXPECT_TRUE(c.rules.rules.empty());
  EXPECT_EQ(c.rules.default_action, Action::inspect);
}

TEST(ConfigDefaults, UnnamedRulesAreNumberedFromOne) {
  const GatewayConfig c = load_config_text(R"(
[gateway]
lan_interfaces = "eth1"
[[rule]]
action = "block"
[[rule]]
name = "named"
action = "inspect"
[[rule]]
action = "bypass"
client = "10.0.0.0/8"
)",
                                           "t.toml");
  ASSERT_EQ(c.rules.rules.size(), 3u);
  EXPECT_EQ(c.rules.rules[0].name, "rule-1");
  EXPECT_EQ(c.rules.rules[1].name, "named");
  EXPECT_EQ(c.rules.rules[2].name, "rule-3");
  EXPECT_EQ(c.rules.rules[2].source_line, 9);
  EXPECT_EQ(c.lan_interfaces, std::vector<std::string>{"eth1"});
}

TEST(ConfigValues, OverridesAreRead) {
  const GatewayConfig c = load_config_text(R"(
[gateway]
lan_interfaces = ["br-lan"]
intercept_ports = [443, 8443]
listen_port = 20000
workers = 3
fail_mode = "closed"
non_tls = "pass"
non_http = "block"
steer_mark = 0x10
route_table = 100
max_client_hello = 512
max_connections_per_client = 0
[paths]
state_dir = "/srv/tlsgate/"
event_log = ""
bpf_pin_dir = "/sys/fs/bpf/gw2"
[upstream]
trust_store = "/etc/ssl/roots.pem"
[policy]
default_action = "block"
block_response = "page"
[[rule]]
action = "bypass"
dst = ["2001:db8::/32", "192.0.2.1"]
port = [8443, 443]
)",
                                           "t.toml");
  EXPECT_EQ(c.intercept_ports, (std::vector<uint16_t>{443, 8443}));
  EXPECT_EQ(c.listen_port, 20000);
  EXPECT_EQ(c.workers, 3u);
  EXPECT_EQ(c.fail_mode, FailMode::closed);
  EXPECT_EQ(c.non_tls, NonTlsMode::pass);
  EXPECT_EQ(c.non_http, NonHttpMode::block);
  EXPECT_EQ(c.steer_mark, 0x10u);
  EXPECT_EQ(c.route_table, 100u);
  EXPECT_EQ(c.max_client_hello, 512u);
  EXPECT_EQ(c.max_connections_per_client, 0u);
  EXPECT_EQ(c.state_dir, "/srv/tlsgate/");
  EXPECT_TRUE(c.event_log.empty());
  EXPECT_EQ(c.bpf_pin_dir, "/sys/fs/bpf/gw2");
  EXPECT_EQ(c.trust_store, "/etc/ssl/roots.pem");
  EXPECT_EQ(c.rules.default_action, Action::block);
  EXPECT_EQ(c.rules.block_response, policy::RuleSet::BlockResponse::page);
  ASSERT_EQ(c.rules.rules.size(), 1u);
  EXPECT_EQ(c.rules.rules[0].dst[1].to_string(), "192.0.2.1/32");
  EXPECT_EQ(c.rules.rules[0].ports, (std::vector<uint16_t>{8443, 443}));
}

GatewayConfig with_timeout(const std::string& value) {
  return load_config_text(
      "[gateway]\nlan_interfaces = [\"eth1\"]\nidle_timeout = \"" + value + "\"\n", "t.toml");
}

TEST(ConfigDurations, Units) {
  EXPECT_EQ(with_timeout("250ms").idle_timeout, 250ms);
  EXPECT_EQ(with_timeout("2s").idle_timeout, 2s);
  EXPECT_EQ(with_timeout("3m").idle_timeout, 3min);
  EXPECT_EQ(with_timeout("1h").idle_timeout, 1h);
  EXPECT_EQ(with_timeout("24h").idle_timeout, 24h);
}

TEST(ConfigDurations, RejectsMalformedOrZero) {
  for (const char* bad : {"0s", "0ms", "10", "10x", "s", "", "-1s", "1.5s", " 1s", "1s ", "1 s",
                          "25h", "99999999999999999999s"}) {
    try {
      with_timeout(bad);
      ADD_FAILURE() << "accepted idle_timeout = \"" << bad << "\"";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.line(), 3) << bad;
      EXPECT_NE(e.problem().find("idle_timeout"), std::string::npos) << e.what();
    }
  }
}

TEST(ConfigDurations, MustBeAString) {
  try {
    load_config_text("[gateway]\nlan_interfaces = [\"eth1\"]\nconnect_timeout = 5\n", "t.toml");
    ADD_FAILURE() << "accepted a bare number";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), 3);
    EXPECT_NE(e.problem().find("must be a string"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tlsgate::config
