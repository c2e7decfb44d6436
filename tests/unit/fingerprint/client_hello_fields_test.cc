#include "fingerprint/client_hello_fields.h"

#include <gtest/gtest.h>

#include "hello_builder.h"

namespace tlsgate::fingerprint {
namespace {

using namespace testing;

HelloSpec browser_like() {
  HelloSpec spec;
  spec.ciphers = {0x2a2a, 0x1301, 0xc02b};
  spec.extensions = {opaque(0x3a3a),
                     server_name("www.example"),
                     opaque(0x0005, {0x01, 0x00, 0x00, 0x00, 0x00}),
                     u16_list(0x000a, {0x4a4a, 0x11ec, 0x001d, 0x0017}),
                     key_share({0x4a4a, 0x11ec, 0x001d}),
                     alpn({"h2", "http/1.1"}),
                     supported_versions({0x7a7a, 0x0304, 0x0303}),
                     u16_list(0x000d, {0x0403, 0x0804})};
  return spec;
}

TEST(ClientHelloFields, ReadsEveryListWithoutGrease) {
  auto f = parse_client_hello_fields(build_hello(browser_like()));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->legacy_version, 0x0303);
  EXPECT_EQ(f->ciphers, (std::vector<uint16_t>{0x1301, 0xc02b}));
  EXPECT_EQ(f->extensions,
            (std::vector<uint16_t>{0x0000, 0x0005, 0x000a, 0x0033, 0x0010, 0x002b, 0x000d}));
  EXPECT_EQ(f->groups, (std::vector<uint16_t>{0x11ec, 0x001d, 0x0017}));
  EXPECT_EQ(f->key_share_groups, (std::vector<uint16_t>{0x11ec, 0x001d}));
  EXPECT_EQ(f->supported_versions, (std::vector<uint16_t>{0x0304, 0x0303}));
  EXPECT_EQ(f->signature_algorithms, (std::vector<uint16_t>{0x0403, 0x0804}));
  EXPECT_EQ(f->alpn, (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_TRUE(f->has_sni);
  EXPECT_TRUE(f->status_request);
  EXPECT_EQ(f->max_version(), 0x0304);
}

TEST(ClientHelloFields, GreaseValues) {
  for (uint16_t g : std::vector<uint16_t>{0x0a0a, 0x1a1a, 0x9a9a, 0xfafa}) {
    EXPECT_TRUE(is_grease(g)) << g;
  }
  for (uint16_t v : std::vector<uint16_t>{0x0a1a, 0x0a0b, 0x1301, 0x0000, 0xaaab}) {
    EXPECT_FALSE(is_grease(v)) << v;
  }
}

TEST(ClientHelloFields, MaxVersionFallsBackToLegacy) {
  HelloSpec spec;
  spec.legacy_version = 0x0302;
  spec.ciphers = {0x002f};
  auto f = parse_client_hello_fields(build_hello(spec));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->max_version(), 0x0302);
  EXPECT_FALSE(f->has_sni);
}

TEST(ClientHelloFields, EveryTruncationIsRefused) {
  auto message = build_hello(browser_like());
  ASSERT_TRUE(parse_client_hello_fields(message));
  // The declared length stays; the bytes end early.
  for (size_t n = 0; n < message.size(); ++n) {
    std::vector<uint8_t> cut(message.begin(), message.begin() + static_cast<long>(n));
    EXPECT_FALSE(parse_client_hello_fields(cut)) << "accepted " << n << " bytes";
  }
}

TEST(ClientHelloFields, ExtensionOverrunningItsListIsRefused) {
  HelloSpec spec = browser_like();
  spec.extensions.push_back(opaque(0x000a, {0x00, 0x08, 0x00, 0x1d}));  // says 8, has 2
  EXPECT_FALSE(parse_client_hello_fields(build_hello(spec)));
}

}  // namespace
}  // namespace tlsgate::fingerprint
