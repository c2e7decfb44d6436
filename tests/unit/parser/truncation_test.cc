// Every prefix of a valid ClientHello: the parser must ask for more, never
// answer OK, never report a different name, never read past what it was given.
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include <memory>

#include "client_hello_fixtures.h"

namespace tlsgate::test {
namespace {

struct Fixture {
  const char* name;
  Bytes message;
};

std::vector<Fixture> fixtures() {
  ClientHelloBuilder padded = browser_like("padded.example.com");
  padded.add(padding_extension(1800));
  ClientHelloBuilder sni_last;
  sni_last.add(key_share_extension(0x11ec, 1216)).add(sni_extension("last.example"));
  ClientHelloBuilder no_ext;
  no_ext.with_extensions = false;
  return {
      {"openssl_tls13",
       handshake_from_records(openssl_client_flight({"t13.example", {"h2"}, 0, 0}))},
      {"openssl_tls12", handshake_from_records(openssl_client_flight(
                            {"t12.example", {}, TLS1_2_VERSION, TLS1_2_VERSION}))},
      {"openssl_no_sni", handshake_from_records(openssl_client_flight({"", {"h2"}, 0, 0}))},
      {"browser_like", browser_like("www.example.org").message()},
      {"padded", padded.message()},
      {"sni_last", sni_last.message()},
      {"no_extensions", no_ext.message()},
  };
}

TEST(Truncation, EveryPrefixNeedsMore) {
  for (const auto& f : fixtures()) {
    tg_hello_info full = parse(f.message);
    ASSERT_EQ(full.status, TG_HELLO_OK) << f.name;
    for (size_t len = 0; len < f.message.size(); ++len) {
      // A copy of exactly `len` bytes, so that ASan reports any read past it.
      auto prefix = std::make_unique<uint8_t[]>(len + 1);
      std::copy(f.message.begin(), f.message.begin() + static_cast<long>(len), prefix.get());
      tg_hello_info info{};
      int st = tg_parse_client_hello(len ? prefix.get() : nullptr, static_cast<__u32>(len), &info);
      ASSERT_EQ(st, TG_HELLO_NEED_MORE) << f.name << " cut at " << len;
      ASSERT_EQ(info.status, static_cast<__u32>(st));
      if (info.has_sni) {
        ASSERT_EQ(sni_of(info), sni_of(full)) << f.name << " cut at " << len;
      }
    }
  }
}

TEST(Truncation, SniIsReportedOnceItsExtensionIsComplete) {
  ClientHelloBuilder b;
  b.add(opaque_extension(23, 0)).add(sni_extension("seen.example")).add(padding_extension(500));
  Bytes msg = b.message();
  size_t sni_end = 0;
  for (size_t len = 0; len < msg.size(); ++len) {
    tg_hello_info info{};
    tg_parse_client_hello(msg.data(), static_cast<__u32>(len), &info);
    if (info.has_sni && sni_end == 0) sni_end = len;
    if (sni_end != 0) {
      ASSERT_EQ(info.has_sni, 1) << "cut at " << len;
    }
  }
  // Header, version, random, session id, suites, compression, extension
  // length, one empty extension, the SNI extension header and body.
  size_t expected = 4 + 2 + 32 + 1 + 32 + 2 + 10 + 2 + 2 + 4 + 4 + 2 + 3 + 12;
  EXPECT_EQ(sni_end, expected);
}

}  // namespace
}  // namespace tlsgate::test
