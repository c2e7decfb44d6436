// [[icap]] services and a rule's `icap` key.
#include <gtest/gtest.h>

#include <string>

#include "config/config_loader.h"

namespace tlsgate::config {
namespace {

const std::string kHead = "[gateway]\nlan_interfaces = [\"eth1\"]\n";

void expect_error(const std::string& body, int line, const std::string& fragment) {
  try {
    load_config_text(kHead + body, "gw.toml");
    ADD_FAILURE() << "loaded: " << body;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(IcapKeys, DefaultsAreSafe) {
  auto c = load_config_text(kHead + "[[icap]]\nname = \"av\"\nurl = \"icap://127.0.0.1/avscan\"\n",
                            "gw.toml");
  ASSERT_EQ(c.icap_services.size(), 1u);
  const IcapServiceSettings& s = c.icap_services[0];
  EXPECT_EQ(s.name, "av");
  EXPECT_EQ(s.url.host, "127.0.0.1");
  EXPECT_EQ(s.url.port, 1344);
  EXPECT_EQ(s.url.service, "avscan");
  EXPECT_EQ(s.method, IcapMethod::respmod);
  EXPECT_EQ(s.on_error, IcapFailAction::block);
  EXPECT_EQ(s.oversize, IcapFailAction::pass);
  EXPECT_EQ(s.max_scan_size, size_t{32} << 20);
}

TEST(IcapKeys, ParsesEveryKey) {
  auto c =
      load_config_text(kHead +
                           "[[icap]]\nname = \"up\"\nurl = \"icap://[::1]:11344/reqscan?x=1\"\n"
                           "method = \"reqmod\"\ntimeout = \"2s\"\nmax_connections = 3\n"
                           "on_error = \"pass\"\npreview = 0\nmax_scan_size = 1024\n"
                           "oversize = \"block\"\n",
                       "gw.toml");
  const IcapServiceSettings& s = c.icap_services.at(0);
  EXPECT_EQ(s.url.host, "::1");
  EXPECT_EQ(s.url.port, 11344);
  EXPECT_EQ(s.url.service, "reqscan?x=1");
  EXPECT_EQ(s.url.to_string(), "icap://[::1]:11344/reqscan?x=1");
  EXPECT_EQ(s.method, IcapMethod::reqmod);
  EXPECT_EQ(s.timeout, std::chrono::seconds(2));
  EXPECT_EQ(s.max_connections, 3u);
  EXPECT_EQ(s.on_error, IcapFailAction::pass);
  EXPECT_EQ(s.preview, 0u);
  EXPECT_EQ(s.max_scan_size, 1024u);
  EXPECT_EQ(s.oversize, IcapFailAction::block);
}

TEST(IcapKeys, BadValuesNameTheirLine) {
  expect_error("[[icap]]\nname = \"av\"\nurl = \"http://x/avscan\"\n", 5, "icap://");
  expect_error("[[icap]]\nname = \"av\"\nurl = \"icap://host:99999/avscan\"\n", 5, "port");
  expect_error("[[icap]]\nname = \"av\"\nurl = \"icap://host:1344\"\n", 5, "service");
  expect_error("[[icap]]\nname = \"av\"\nurl = \"icap://h/s\"\nmethod = \"options\"\n", 6,
               "method");
  expect_error("[[icap]]\nname = \"av\"\nurl = \"icap://h/s\"\nonerror = \"pass\"\n", 6,
               "on_error");
  expect_error("[[icap]]\nurl = \"icap://h/s\"\n", 3, "name");
  expect_error(
      "[[icap]]\nname = \"av\"\nurl = \"icap://h/s\"\n[[icap]]\nname = \"av\"\nurl = "
      "\"icap://h/t\"\n",
      7, "duplicate");
}

TEST(IcapKeys, RuleChoosesServicesOrNone) {
  auto c = load_config_text(
      kHead +
          "[[icap]]\nname = \"av\"\nurl = \"icap://h/s\"\n"
          "[[rule]]\nname = \"scan\"\naction = \"inspect\"\nsni = [\"a.example\"]\nicap = "
          "[\"av\"]\n"
          "[[rule]]\nname = \"noscan\"\naction = \"inspect\"\nsni = [\"b.example\"]\nicap = []\n"
          "[[rule]]\nname = \"all\"\naction = \"inspect\"\nsni = [\"c.example\"]\n",
      "gw.toml");
  ASSERT_EQ(c.rules.rules.size(), 3u);
  EXPECT_EQ(c.rules.rules[0].icap, std::vector<std::string>{"av"});
  EXPECT_EQ(c.rules.rules[1].icap, std::vector<std::string>{});
  EXPECT_FALSE(c.rules.rules[2].icap.has_value());
}

TEST(IcapKeys, RuleNamingAnUnknownServiceIsAnError) {
  expect_error("[[rule]]\nname = \"scan\"\naction = \"inspect\"\nicap = [\"av\"]\n", 3,
               "no [[icap]] service");
  expect_error("[[rule]]\nname = \"scan\"\naction = \"inspect\"\nicap = \"av\"\n", 6, "array");
}

}  // namespace
}  // namespace tlsgate::config
