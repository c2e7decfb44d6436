// JA4 against the values FoxIO publishes. Source: github.com/FoxIO-LLC/ja4,
// technical_details/JA4.md (the worked example: its cipher, extension and
// signature algorithm lists, the sorted/raw strings, their hashes and the
// ALPN rules) and rust/ja4/src/tls.rs test_client_stats_into_out (ja4,
// ja4_r, ja4_o, ja4_ro of that example). The Chrome hello built here carries
// exactly those lists, in that order, plus GREASE everywhere a browser puts it.
#include "fingerprint/ja4.h"

#include <gtest/gtest.h>

#include "hello_builder.h"

namespace tlsgate::fingerprint {
namespace {

using namespace testing;

constexpr uint16_t kGrease1 = 0x0a0a;
constexpr uint16_t kGrease2 = 0x5a5a;
constexpr uint16_t kGrease3 = 0xdada;

const std::vector<uint16_t> kExampleCiphers = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f,
                                               0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                                               0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
const std::vector<uint16_t> kExampleSigalgs = {0x0403, 0x0804, 0x0401, 0x0503,
                                               0x0805, 0x0501, 0x0806, 0x0601};

struct ExampleHello {
  bool sni = true;
  std::vector<std::string> alpn = {"h2", "http/1.1"};
  std::vector<uint16_t> sigalgs = kExampleSigalgs;
};

// Extensions in the order of JA4.md: 001b,0000,0033,0010,4469,0017,002d,
// 000d,0005,0023,0012,002b,ff01,000b,000a,0015 (with GREASE first and last).
std::vector<uint8_t> example_hello(const ExampleHello& e = {}) {
  HelloSpec spec;
  spec.ciphers = {kGrease1};
  spec.ciphers.insert(spec.ciphers.end(), kExampleCiphers.begin(), kExampleCiphers.end());
  auto& x = spec.extensions;
  x.push_back(opaque(kGrease2));
  x.push_back(opaque(0x001b, {0x02, 0x00, 0x02}));
  if (e.sni) x.push_back(server_name("example.com"));
  x.push_back(key_share({kGrease3, 0x001d}));
  if (!e.alpn.empty()) x.push_back(alpn(e.alpn));
  x.push_back(opaque(0x4469, {0x00, 0x03, 0x02, 0x68, 0x32}));
  x.push_back(opaque(0x0017));
  x.push_back(opaque(0x002d, {0x01, 0x01}));
  std::vector<uint16_t> sigalgs = {kGrease1};  // GREASE here too: never counted
  sigalgs.insert(sigalgs.end(), e.sigalgs.begin(), e.sigalgs.end());
  x.push_back(u16_list(0x000d, sigalgs));
  x.push_back(opaque(0x0005, {0x01, 0x00, 0x00, 0x00, 0x00}));
  x.push_back(opaque(0x0023));
  x.push_back(opaque(0x0012));
  x.push_back(supported_versions({kGrease3, 0x0304, 0x0303}));
  x.push_back(opaque(0xff01, {0x00}));
  x.push_back(opaque(0x000b, {0x01, 0x00}));
  x.push_back(u16_list(0x000a, {kGrease2, 0x001d, 0x0017, 0x0018}));
  x.push_back(opaque(0x0015, std::vector<uint8_t>(100, 0)));
  x.push_back(opaque(kGrease1, {0x00}));
  return build_hello(spec);
}

std::string ja4_with(const std::vector<uint8_t>& message, Ja4Options options) {
  auto fields = parse_client_hello_fields(message);
  EXPECT_TRUE(fields.has_value());
  return fields ? ja4(*fields, options) : "";
}

TEST(Ja4, PublishedExample) {
  EXPECT_EQ(ja4_of_message(example_hello()), "t13d1516h2_8daaf6152771_e5627efa2ab1");
}

TEST(Ja4, PublishedRawSorted) {
  EXPECT_EQ(ja4_with(example_hello(), {.raw = true}),
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,"
            "cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_"
            "0403,0804,0401,0503,0805,0501,0806,0601");
}

TEST(Ja4, PublishedOriginalOrder) {
  EXPECT_EQ(ja4_with(example_hello(), {.original_order = true}),
            "t13d1516h2_acb858a92679_18f69afefd3d");
  EXPECT_EQ(ja4_with(example_hello(), {.original_order = true, .raw = true}),
            "t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,"
            "0035_001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,"
            "0015_0403,0804,0401,0503,0805,0501,0806,0601");
}

// Same client toward a server it speaks HTTP/1.1 to (JA4 snapshot of
// tls-handshake.pcapng, stream 5: t13d1516h1_8daaf6152771_e5627efa2ab1).
TEST(Ja4, FirstAlpnValueDecides) {
  EXPECT_EQ(ja4_of_message(example_hello({.alpn = {"http/1.1", "h2"}})),
            "t13d1516h1_8daaf6152771_e5627efa2ab1");
}

// JA4.md: "If there are no signature algorithms in the hello packet, then
// the string ends without an underscore and is hashed" = 6d807ffa2a79.
TEST(Ja4, NoSignatureAlgorithmsEndsWithoutUnderscore) {
  auto message = example_hello({.sigalgs = {}});  // the extension holds GREASE only
  const std::string raw = ja4_with(message, {.raw = true});
  EXPECT_EQ(raw.substr(raw.rfind('_') + 1),
            "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01");
  EXPECT_EQ(ja4_of_message(message), "t13d1516h2_8daaf6152771_6d807ffa2a79");
}

// SNI and ALPN are left out of the third part, so it stays the same.
TEST(Ja4, NoSniIsIAndNoAlpnIsZeroZero) {
  EXPECT_EQ(ja4_of_message(example_hello({.sni = false})), "t13i1515h2_8daaf6152771_e5627efa2ab1");
  EXPECT_EQ(ja4_of_message(example_hello({.alpn = {}})), "t13d151500_8daaf6152771_e5627efa2ab1");
}

TEST(Ja4, VersionFromLegacyFieldWithoutSupportedVersions) {
  HelloSpec spec;
  spec.legacy_version = 0x0303;
  spec.ciphers = {0xc02f, 0xc02b};
  spec.extensions = {server_name("a.example"), u16_list(0x000a, {0x0017})};
  auto fields = parse_client_hello_fields(build_hello(spec));
  ASSERT_TRUE(fields);
  EXPECT_EQ(ja4(*fields, {.raw = true}), "t12d020200_c02b,c02f_000a");
  spec.legacy_version = 0x0301;
  EXPECT_EQ(ja4_of_message(build_hello(spec)).substr(0, 10), "t10d020200");
}

// Hashes of nothing are written as twelve zeros (JA4.md, cipher and extension hash).
TEST(Ja4, EmptyListsAreZeros) {
  HelloSpec spec;
  spec.ciphers = {kGrease1};
  auto fields = parse_client_hello_fields(build_hello(spec));
  ASSERT_TRUE(fields);
  EXPECT_EQ(ja4(*fields), "t12i000000_000000000000_000000000000");
}

// JA4.md, "ALPN Extension Value".
TEST(Ja4, AlpnCharacters) {
  EXPECT_EQ(ja4_alpn_chars("h2"), "h2");
  EXPECT_EQ(ja4_alpn_chars("http/1.1"), "h1");
  EXPECT_EQ(ja4_alpn_chars(""), "00");
  EXPECT_EQ(ja4_alpn_chars("x"), "xx");  // a single character is first and last
  EXPECT_EQ(ja4_alpn_chars("\xab"), "ab");
  EXPECT_EQ(ja4_alpn_chars("\xab\xcd"), "ad");
  EXPECT_EQ(ja4_alpn_chars("\x30\xab"), "3b");
  EXPECT_EQ(ja4_alpn_chars("\x30\x31\xab\xcd"), "3d");
  EXPECT_EQ(ja4_alpn_chars("\x30\xab\xcd\x31"), "01");
}

TEST(Ja4, CountsStopAt99) {
  HelloSpec spec;
  for (uint16_t c = 1; c <= 120; ++c) spec.ciphers.push_back(c);
  EXPECT_EQ(ja4_of_message(build_hello(spec)).substr(0, 10), "t12i990000");
}

TEST(Ja4, NotAClientHelloGivesNothing) {
  auto message = example_hello();
  message[0] = 2;  // ServerHello
  EXPECT_EQ(ja4_of_message(message), "");
}

}  // namespace
}  // namespace tlsgate::fingerprint
