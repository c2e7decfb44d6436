// [[threat_list]]: name, file, format.
#include <gtest/gtest.h>

#include <string>

#include "config/config_loader.h"
#include "expect_config_error.h"

namespace tlsgate::config {
namespace {

const std::string kHead = "[gateway]\nlan_interfaces = [\"eth1\"]\n";

void expect_error(const std::string& body, int line, const std::string& fragment) {
  test::expect_config_error(kHead + body, line, fragment);
}

TEST(ThreatListKeys, NoneByDefault) {
  EXPECT_TRUE(load_config_text(kHead, "gw.toml").threat_lists.empty());
}

TEST(ThreatListKeys, ReadsListsInOrder) {
  const auto config =
      load_config_text(kHead +
                           "[[threat_list]]\n"
                           "name = \"malware\"\n"
                           "file = \"/var/lib/tlsgate/lists/../lists/malware.txt\"\n"
                           "format = \"domains\"\n"
                           "[[threat_list]]\n"
                           "name = \"urlhaus\"\n"
                           "file = \"/var/lib/tlsgate/urlhaus.txt\"\n"
                           "format = \"urls\"\n",
                       "gw.toml");
  ASSERT_EQ(config.threat_lists.size(), 2u);
  EXPECT_EQ(config.threat_lists[0].name, "malware");
  EXPECT_EQ(config.threat_lists[0].file, "/var/lib/tlsgate/lists/malware.txt");
  EXPECT_EQ(config.threat_lists[0].format, policy::ThreatListFormat::domains);
  EXPECT_EQ(config.threat_lists[0].source_line, 3);
  EXPECT_EQ(config.threat_lists[1].format, policy::ThreatListFormat::urls);
}

TEST(ThreatListKeys, RefusesIncompleteOrWrongLists) {
  expect_error("[[threat_list]]\nfile = \"/x\"\nformat = \"hosts\"\n", 3, "has no 'name'");
  expect_error("[[threat_list]]\nname = \"x\"\nformat = \"hosts\"\n", 3, "has no 'file'");
  expect_error("[[threat_list]]\nname = \"x\"\nfile = \"/x\"\n", 3, "has no 'format'");
  expect_error("[[threat_list]]\nname = \"x\"\nfile = \"lists/x\"\nformat = \"hosts\"\n", 5,
               "absolute path");
  expect_error("[[threat_list]]\nname = \"x\"\nfile = \"/x\"\nformat = \"adblock\"\n", 6, "format");
  expect_error("[[threat_list]]\nname = \"Bad Name\"\nfile = \"/x\"\nformat = \"hosts\"\n", 4,
               "a-z, 0-9");
  expect_error("[[threat_list]]\nname = \"x\"\nfile = \"/x\"\nformat = \"hosts\"\nurl = \"y\"\n", 7,
               "url");
  expect_error(
      "[[threat_list]]\nname = \"x\"\nfile = \"/x\"\nformat = \"hosts\"\n"
      "[[threat_list]]\nname = \"x\"\nfile = \"/y\"\nformat = \"hosts\"\n",
      8, "duplicate threat list name 'x' (first used on line 3)");
  try {
    load_config_text("threat_list = \"x\"\n" + kHead, "gw.toml");
    ADD_FAILURE() << "loaded a threat_list string";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("[[threat_list]] tables"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tlsgate::config
