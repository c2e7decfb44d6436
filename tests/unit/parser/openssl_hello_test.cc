// ClientHellos written by OpenSSL's client, parsed as the terminator and the
// kernel would.
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include "client_hello_fixtures.h"

namespace tlsgate::test {
namespace {

std::vector<std::string> alpn_list(const Bytes& msg, const tg_hello_info& info) {
  std::vector<std::string> out;
  size_t off = info.alpn_off + 2, end = size_t{info.alpn_off} + info.alpn_len;
  while (off < end) {
    size_t n = msg[off++];
    out.emplace_back(reinterpret_cast<const char*>(msg.data() + off), n);
    off += n;
  }
  return out;
}

TEST(OpensslHello, Tls13WithSniAndAlpn) {
  Bytes flight = openssl_client_flight({"www.example.com", {"h2", "http/1.1"}, 0, 0});
  Bytes msg = handshake_from_records(flight);
  tg_hello_info info = parse(msg);
  ASSERT_EQ(info.status, TG_HELLO_OK);
  EXPECT_EQ(info.msg_len, msg.size());
  EXPECT_EQ(info.legacy_version, 0x0303);
  ASSERT_EQ(info.has_sni, 1);
  EXPECT_EQ(sni_of(info), "www.example.com");
  EXPECT_STREQ(info.sni, "www.example.com");
  EXPECT_EQ(alpn_list(msg, info), (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_NE(info.supported_versions_off, 0);
  EXPECT_GE(info.supported_versions_len, 3);
  // The cipher suite list starts right after its own 2-byte length.
  size_t cs_len = size_t{msg[info.cipher_suites_off - 2]} << 8 | msg[info.cipher_suites_off - 1];
  EXPECT_EQ(cs_len, info.cipher_suites_len);
  EXPECT_EQ(size_t{info.extensions_off} + info.extensions_len, msg.size());
}

TEST(OpensslHello, Tls12OnlyHasNoSupportedVersions) {
  Bytes msg = handshake_from_records(
      openssl_client_flight({"legacy.example.net", {}, TLS1_2_VERSION, TLS1_2_VERSION}));
  tg_hello_info info = parse(msg);
  ASSERT_EQ(info.status, TG_HELLO_OK);
  EXPECT_EQ(sni_of(info), "legacy.example.net");
  EXPECT_EQ(info.supported_versions_off, 0);
  EXPECT_EQ(info.supported_versions_len, 0);
  EXPECT_EQ(info.alpn_off, 0);
}

TEST(OpensslHello, Tls13Only) {
  Bytes msg = handshake_from_records(
      openssl_client_flight({"only13.example", {"h2"}, TLS1_3_VERSION, TLS1_3_VERSION}));
  tg_hello_info info = parse(msg);
  ASSERT_EQ(info.status, TG_HELLO_OK);
  EXPECT_EQ(sni_of(info), "only13.example");
  EXPECT_EQ(alpn_list(msg, info), std::vector<std::string>{"h2"});
}

TEST(OpensslHello, WithoutSni) {
  Bytes msg = handshake_from_records(openssl_client_flight({"", {"http/1.1"}, 0, 0}));
  tg_hello_info info = parse(msg);
  ASSERT_EQ(info.status, TG_HELLO_OK);
  EXPECT_EQ(info.has_sni, 0);
  EXPECT_EQ(info.sni_len, 0);
  EXPECT_STREQ(info.sni, "");
  EXPECT_NE(info.alpn_off, 0);
}

TEST(OpensslHello, UpperCaseNameIsNormalized) {
  Bytes msg = handshake_from_records(openssl_client_flight({"WWW.Example.COM", {}, 0, 0}));
  EXPECT_EQ(sni_of(parse(msg)), "www.example.com");
}

TEST(OpensslHello, RecordHeaderOfTheFlight) {
  Bytes flight = openssl_client_flight({"a.example", {}, 0, 0});
  __u32 fragment_len = 0;
  ASSERT_EQ(tg_parse_record_header(flight.data(), static_cast<__u32>(flight.size()), &fragment_len),
            TG_HELLO_OK);
  EXPECT_EQ(fragment_len + 5, flight.size());
}

}  // namespace
}  // namespace tlsgate::test
