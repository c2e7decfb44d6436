#include "ctl/socket_hint.h"

#include <gtest/gtest.h>

namespace tlsgate::ctl {
namespace {

TEST(SocketHint, FoundInPathsWhateverElseIsBroken) {
  EXPECT_EQ(control_socket_hint("[gateway\nbroken = = 1\n[paths]\n"
                                "  control_socket = \"/tmp/a \\\"b\\\".sock\"  # ours\n"),
            "/tmp/a \"b\".sock");
  EXPECT_EQ(control_socket_hint("[ paths ]\ncontrol_socket='/tmp/literal.sock'\n"),
            "/tmp/literal.sock");
  EXPECT_EQ(control_socket_hint("[paths]\ncontrol_socket = \"/a\"\n[paths]\n"
                                "control_socket = \"/b\"\n"),
            "/b");
}

TEST(SocketHint, OnlyInPathsAndOnlyStrings) {
  EXPECT_EQ(control_socket_hint(""), std::nullopt);
  EXPECT_EQ(control_socket_hint("control_socket = \"/top\"\n"), std::nullopt);
  EXPECT_EQ(control_socket_hint("[gateway]\ncontrol_socket = \"/x\"\n"), std::nullopt);
  EXPECT_EQ(control_socket_hint("[[rule]]\ncontrol_socket = \"/x\"\n"), std::nullopt);
  EXPECT_EQ(control_socket_hint("[paths]\ncontrol_socket = 5\n"), std::nullopt);
  EXPECT_EQ(control_socket_hint("[paths]\ncontrol_socket = \"/unterminated\n"), std::nullopt);
  EXPECT_EQ(control_socket_hint("[paths]\ncontrol_sockets = \"/x\"\n"), std::nullopt);
  EXPECT_EQ(control_socket_hint("[paths]\ncontrol_socket = \"/tab\\t\"\n"), std::nullopt);
}

}  // namespace
}  // namespace tlsgate::ctl
