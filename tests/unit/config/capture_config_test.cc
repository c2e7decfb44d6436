// [capture] and a rule's `capture` key: nothing is captured unless a rule
// asks, and capture files are never readable by others.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "config/config_loader.h"
#include "expect_config_error.h"

namespace tlsgate::config {
namespace {

using namespace std::chrono_literals;
using policy::CaptureFormat;
using test::expect_config_error;

const std::string kHead = "[gateway]\nlan_interfaces = [\"eth1\"]\n";

TEST(CaptureKeys, NothingIsCapturedByDefault) {
  const GatewayConfig c =
      load_config_text(kHead + "[[rule]]\naction = \"inspect\"\nsni = \"a.example\"\n", "gw.toml");
  EXPECT_EQ(c.rules.rules.at(0).capture, CaptureFormat::none);
  EXPECT_EQ(c.capture.directory, "/var/log/tlsgate/capture");
  EXPECT_EQ(c.capture.file_mode, 0600u);
  EXPECT_EQ(c.capture.rotate_size, 100u << 20);
  EXPECT_EQ(c.capture.rotate_age, 1h);
  EXPECT_EQ(c.capture.max_total, 1u << 30);
  EXPECT_TRUE(c.capture.owner.empty());
}

TEST(CaptureKeys, TheExampleCapturesNothing) {
  const GatewayConfig c =
      load_config_file(std::string(TLSGATE_SOURCE_DIR) + "/systemd/tlsgate.toml.example");
  for (const policy::Rule& rule : c.rules.rules) {
    EXPECT_EQ(rule.capture, CaptureFormat::none) << rule.name;
  }
  EXPECT_EQ(c.capture.file_mode, CaptureSettings{}.file_mode);
  EXPECT_EQ(c.capture.directory, CaptureSettings{}.directory);
}

TEST(CaptureKeys, ParsesEveryFormatAndKey) {
  const GatewayConfig c = load_config_text(
      kHead +
          "[capture]\ndirectory = \"/srv/cap/../capture\"\nrotate_size = 65536\n"
          "rotate_age = \"10m\"\nmax_total = 1048576\nfile_mode = 0o640\nowner = \"ids\"\n"
          "[[rule]]\nname = \"a\"\naction = \"inspect\"\nsni = \"a.example\"\n"
          "[[rule]]\nname = \"c\"\naction = \"inspect\"\nclient = \"10.0.0.0/8\"\n"
          "capture = \"keylog\"\n",
      "gw.toml");
  EXPECT_EQ(c.capture.directory, "/srv/capture");
  EXPECT_EQ(c.capture.rotate_size, 65536u);
  EXPECT_EQ(c.capture.rotate_age, 10min);
  EXPECT_EQ(c.capture.max_total, 1048576u);
  EXPECT_EQ(c.capture.file_mode, 0640u);
  EXPECT_EQ(c.capture.owner, "ids");
  ASSERT_EQ(c.rules.rules.size(), 2u);
  EXPECT_EQ(c.rules.rules[0].capture, CaptureFormat::none);
  EXPECT_EQ(c.rules.rules[1].capture, CaptureFormat::keylog);
}

// The formats the reference names but this version does not write are
// refused, never accepted as a rule that silently captures nothing.
TEST(CaptureKeys, FormatsNotWrittenYetAreRefused) {
  expect_config_error(kHead + "[[rule]]\naction = \"inspect\"\ncapture = \"pcapng\"\n", 5,
                      "\"pcapng\" is not available");
  expect_config_error(kHead + "[[rule]]\naction = \"inspect\"\ncapture = \"plaintext\"\n", 5,
                      "\"plaintext\" is not available");
}

TEST(CaptureKeys, BadRuleValuesNameTheirLine) {
  expect_config_error(kHead + "[[rule]]\naction = \"inspect\"\ncapture = \"pcap\"\n", 5,
                      "\"pcapng\", \"plaintext\", \"keylog\"");
  expect_config_error(kHead + "[[rule]]\naction = \"inspect\"\ncapture = true\n", 5, "capture");
  expect_config_error(kHead +
                          "[[rule]]\naction = \"bypass\"\nsni = \"x.example\"\n"
                          "capture = \"keylog\"\n",
                      6, "only to inspected flows");
  expect_config_error(kHead +
                          "[[rule]]\naction = \"block\"\nsni = \"x.example\"\n"
                          "capture = \"pcapng\"\n",
                      6, "only to inspected flows");
  expect_config_error(kHead +
                          "[[rule]]\naction = \"inspect\"\nurl = \"x.example/a\"\n"
                          "capture = \"keylog\"\n",
                      6, "applies to whole flows");
}

TEST(CaptureKeys, BadSectionValuesNameTheirLineAndReason) {
  const std::string s = kHead + "[capture]\n";
  expect_config_error(s + "directory = \"capture\"\n", 4, "directory");
  expect_config_error(s + "file_mode = 0o644\n", 4, "decrypted traffic");
  expect_config_error(s + "file_mode = 0o700\n", 4, "0o700");
  expect_config_error(s + "file_mode = 600\n", 4, "octal");
  expect_config_error(s + "file_mode = 0o200\n", 4, "owner must read");
  expect_config_error(s + "rotate_size = 100\n", 4, "rotate_size");
  expect_config_error(s + "rotate_age = \"forever\"\n", 4, "rotate_age");
  expect_config_error(s + "rotate_size = 1048576\nmax_total = 65536\n", 5, "not even one file");
  expect_config_error(s + "max_total = 65536\n", 4, "smaller than 'rotate_size'");
  expect_config_error(s + "owner = \"Root Admin\"\n", 4, "not a user name");
  expect_config_error(s + "rotate_sise = 65536\n", 4, "rotate_size");
}

}  // namespace
}  // namespace tlsgate::config
