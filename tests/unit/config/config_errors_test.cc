// Every class of configuration error names the file and the exact line.
#include <gtest/gtest.h>

#include <string>

#include "config/config_loader.h"

namespace tlsgate::config {
namespace {

// Two lines; errors in text appended to it are on line 3 and below.
const std::string kHead = "[gateway]\nlan_interfaces = [\"eth1\"]\n";

void expect_error(const std::string& text, int line, const std::string& fragment) {
  SCOPED_TRACE(text);
  try {
    load_config_text(text, "gw.toml");
    ADD_FAILURE() << "loaded without error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_EQ(e.file(), "gw.toml");
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    const std::string prefix =
        line > 0 ? "gw.toml:" + std::to_string(line) + ": " : std::string("gw.toml: ");
    EXPECT_TRUE(std::string(e.what()).starts_with(prefix)) << e.what();
    EXPECT_EQ(std::string(e.what()), prefix + e.problem());
  }
}

TEST(ConfigErrors, TomlSyntaxReportsTomlLine) {
  expect_error(kHead + "workers = 2\nlisten_port = = 3\n", 4, "");
  expect_error(kHead + "[paths]\nstate_dir = \"/x\"\n[paths]\n", 5, "paths");
  expect_error(kHead + "fail_mode = \"open\n", 3, "");
}

TEST(ConfigErrors, UnknownKeySuggestsTheNearestName) {
  expect_error("[gateway]\nlan_interface = [\"eth1\"]\n", 2,
               "unknown key 'lan_interface' in [gateway] (did you mean 'lan_interfaces'?)");
  expect_error(kHead + "\n[paths]\nstate_dir = \"/x\"\nevent_logs = \"/y\"\n", 6,
               "unknown key 'event_logs' in [paths] (did you mean 'event_log'?)");
  expect_error(kHead + "[[rule]]\naction = \"bypass\"\nclients = \"10.0.0.0/8\"\n", 5,
               "unknown key 'clients' in [[rule]] #1 (did you mean 'client'?)");
  expect_error(kHead + "colour = \"blue\"\n", 3, "unknown key 'colour' in [gateway]");
}

TEST(ConfigErrors, UnknownSection) {
  expect_error(kHead + "\n[polcy]\ndefault_action = \"bypass\"\n", 4,
               "unknown section [polcy] (did you mean [policy]?)");
  expect_error(kHead + "[metrics]\n", 3, "unknown section [metrics]");
  expect_error("debug = true\n" + kHead, 1, "unknown top-level key 'debug'");
  expect_error(kHead + "[rule]\naction = \"block\"\n", 3, "[[rule]]");
  expect_error("policy = 3\n" + kHead, 1, "'policy' must be a section");
}

TEST(ConfigErrors, WrongTypes) {
  expect_error(kHead + "listen_port = \"15443\"\n", 3,
               "'listen_port' in [gateway] must be an integer, not a string");
  expect_error(kHead + "fail_mode = true\n", 3, "'fail_mode' in [gateway] must be a string");
  expect_error("[gateway]\nlan_interfaces = [\n  \"eth1\",\n  7,\n]\n", 4,
               "elements of 'lan_interfaces' in [gateway] must be a string");
  expect_error(kHead + "intercept_ports = 443.0\n", 3, "must be an integer or an array");
  expect_error(kHead + "[[rule]]\naction = \"bypass\"\nport = [\"443\"]\n", 5,
               "elements of 'port' in [[rule]] #1 must be an integer");
  expect_error(kHead + "[[rule]]\naction = \"bypass\"\nsni = []\n", 5, "empty array");
}

TEST(ConfigErrors, OutOfRangeValues) {
  expect_error(kHead + "listen_port = 70000\n", 3, "between 1 and 65535 (got 70000)");
  expect_error(kHead + "max_client_hello = 511\n", 3, "between 512 and 16384");
  expect_error(kHead + "max_client_hello = 16385\n", 3, "between 512 and 16384");
  expect_error(kHead + "max_connections_per_client = -1\n", 3, "between 0 and 1000000");
  expect_error(kHead + "steer_mark = 0\n", 3, "'steer_mark' in [gateway] must be between 1");
  expect_error(kHead + "steer_mark = 0x100000000\n", 3, "steer_mark");
  expect_error(kHead + "route_table = 254\n", 3, "'route_table' in [gateway] must not be 254");
  expect_error(kHead + "route_table = 0\n", 3, "route_table");
  expect_error(kHead + "workers = -1\n", 3, "workers");
  expect_error(kHead + "intercept_ports = [1,2,3,4,5,6,7,8,9]\n", 3, "at most 8");
  expect_error(kHead + "intercept_ports = [443, 0]\n", 3, "got 0");
  expect_error(kHead + "intercept_ports = [443,\n 443]\n", 4, "443 is listed twice");
  expect_error(kHead + "listen_port = 443\n", 3, "also an intercept port");
  expect_error(kHead + "intercept_ports = [443, 15443]\n", 3, "also an intercept port");
  expect_error(kHead + "fail_mode = \"half-open\"\n", 3,
               "'fail_mode' in [gateway] must be one of \"open\", \"closed\"");
  expect_error(kHead + "non_tls = \"drop\"\n", 3, "non_tls");
  expect_error(kHead + "non_http = \"pass\"\n", 3,
               "'non_http' in [gateway] must be one of \"relay\", \"block\"");
  expect_error(kHead + "[policy]\ndefault_action = \"allow\"\n", 4, "default_action");
}

TEST(ConfigErrors, InterfaceNames) {
  expect_error("[gateway]\nlan_interfaces = []\n", 2, "empty array");
  expect_error("[gateway]\nlan_interfaces = [\"a-very-long-ifname\"]\n", 2,
               "not a valid interface name");
  expect_error("[gateway]\nlan_interfaces = [\"eth0\", \"eth 1\"]\n", 2,
               "not a valid interface name");
  expect_error("[gateway]\nlan_interfaces = [\"eth0\", \"eth0\"]\n", 2, "listed twice");
  expect_error("[gateway]\nworkers = 2\n", 1, "'lan_interfaces' in [gateway] is required");
  expect_error("[paths]\nstate_dir = \"/x\"\n", 0, "missing required section [gateway]");
}

TEST(ConfigErrors, Paths) {
  expect_error(kHead + "[paths]\nbpf_pin_dir = \"/tmp/pins\"\n", 4, "below /sys/fs/bpf");
  expect_error(kHead + "[paths]\nbpf_pin_dir = \"/sys/fs/bpf\"\n", 4, "below /sys/fs/bpf");
  expect_error(kHead + "[paths]\nbpf_pin_dir = \"/sys/fs/bpf/../../../etc\"\n", 4,
               "below /sys/fs/bpf");
  expect_error(kHead + "[paths]\nstate_dir = \"var/lib/tlsgate\"\n", 4, "absolute path");
  expect_error(kHead + "[paths]\nstate_dir = \"\"\n", 4, "absolute path");
  expect_error(kHead + "[upstream]\ntrust_store = \"roots.pem\"\n", 4, "absolute path");
  expect_error(kHead + "[paths]\nstate_dir = \"/var/lib/x\\u0000y\"\n", 4, "contains a NUL");
}

TEST(ConfigErrors, BadCidr) {
  expect_error(kHead + "[[rule]]\naction = \"bypass\"\ndst = [\"10.0.0.1/8\"]\n", 5,
               "'10.0.0.1/8' has host bits set (did you mean 10.0.0.0/8?)");
  expect_error(
      kHead + "[[rule]]\naction = \"bypass\"\nclient = [\n \"10.0.0.0/8\",\n \"fd00::1/64\"\n]\n",
      7, "'fd00::1/64' has host bits set (did you mean fd00::/64?)");
  expect_error(kHead + "[[rule]]\naction = \"bypass\"\ndst = \"10.0.0.0/33\"\n", 5,
               "invalid prefix length (0..32)");
  expect_error(kHead + "[[rule]]\naction = \"bypass\"\ndst = \"bank.example\"\n", 5,
               "not an IP address or CIDR");
  expect_error(kHead + "[[rule]]\naction = \"bypass\"\nclient = \"::ffff:10.0.0.0/104\"\n", 5,
               "IPv4-mapped");
}

TEST(ConfigErrors, BadSniPattern) {
  expect_error(kHead + "[[rule]]\naction = \"bypass\"\nsni = [\"ok.example\", \"a*.example\"]\n", 5,
               "'sni' in [[rule]] #1: SNI pattern 'a*.example'");
  expect_error(kHead + "[[rule]]\nname = \"x\"\naction = \"bypass\"\nsni = \"*\"\n", 6,
               "'sni' in [[rule]] 'x'");
  expect_error(kHead + "[[rule]]\naction = \"bypass\"\nsni = \"192.0.2.1\"\n", 5,
               "match addresses with 'dst'");
}

TEST(ConfigErrors, DuplicateRuleNames) {
  expect_error(kHead +
                   "[[rule]]\nname = \"banks\"\naction = \"bypass\"\n"
                   "[[rule]]\nname = \"banks\"\naction = \"inspect\"\n",
               7, "duplicate rule name 'banks' (first used on line 3)");
  // A given name may collide with a default one.
  expect_error(
      kHead + "[[rule]]\nname = \"rule-2\"\naction = \"bypass\"\n[[rule]]\naction = \"block\"\n", 6,
      "duplicate rule name 'rule-2'");
  expect_error(kHead + "[[rule]]\nname = \"default\"\naction = \"bypass\"\n", 4, "reserved");
  expect_error(kHead + "[[rule]]\nname = \"a\\nb\"\naction = \"bypass\"\n", 4,
               "'name' in [[rule]] #1 contains control characters");
}

TEST(ConfigErrors, RuleWithoutAction) {
  expect_error(
      kHead + "[[rule]]\naction = \"bypass\"\n\n[[rule]]\nname = \"x\"\nsni = \"a.example\"\n", 6,
      "[[rule]] 'x' has no 'action'");
  expect_error(kHead + "[[rule]]\naction = \"allow\"\n", 4,
               "'action' in [[rule]] #1 must be one of \"inspect\", \"bypass\", \"block\"");
}

TEST(ConfigErrors, RulePortMustBeIntercepted) {
  expect_error(kHead + "[[rule]]\naction = \"bypass\"\nport = [443, 8443]\n", 5,
               "8443 is not an intercept port [443]");
}

TEST(ConfigErrors, MissingFile) {
  try {
    load_config_file("/nonexistent/tlsgate.toml");
    ADD_FAILURE() << "loaded a missing file";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), 0);
    EXPECT_EQ(std::string(e.what()),
              "/nonexistent/tlsgate.toml: cannot open: No such file or directory");
  }
}

TEST(ConfigErrors, DirectoryIsNotAConfig) {
  try {
    load_config_file("/");
    ADD_FAILURE() << "loaded a directory";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot read"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tlsgate::config
