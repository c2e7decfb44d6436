// [gateway] quic = "block" | "allow" (DESIGN.md §2).
#include <gtest/gtest.h>

#include <string>

#include "config/config_loader.h"

namespace tlsgate::config {
namespace {

const std::string kHead = "[gateway]\nlan_interfaces = [\"lan0\"]\n";

TEST(QuicKey, DefaultsToBlock) {
  EXPECT_EQ(load_config_text(kHead, "t.toml").quic, QuicMode::block);
  EXPECT_EQ(GatewayConfig{}.quic, QuicMode::block);
}

TEST(QuicKey, ExampleDocumentsTheDefault) {
  const GatewayConfig c =
      load_config_file(std::string(TLSGATE_SOURCE_DIR) + "/systemd/tlsgate.toml.example");
  EXPECT_EQ(c.quic, QuicMode::block);
}

TEST(QuicKey, BothValuesParse) {
  EXPECT_EQ(load_config_text(kHead + "quic = \"allow\"\n", "t.toml").quic, QuicMode::allow);
  EXPECT_EQ(load_config_text(kHead + "quic = \"block\"\n", "t.toml").quic, QuicMode::block);
}

TEST(QuicKey, OtherValuesAreRefusedWithTheLine) {
  try {
    load_config_text(kHead + "quic = \"by_sni\"\n", "t.toml");
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), 3);
    EXPECT_NE(std::string(e.what()).find("'quic' in [gateway] must be one of \"block\", \"allow\""),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace tlsgate::config
