// Crafted ClientHellos: what browsers send that OpenSSL does not (GREASE,
// padding, large key shares, shuffled extension order) and the edges of the
// format.
#include <gtest/gtest.h>

#include <algorithm>

#include "client_hello_fixtures.h"

namespace tlsgate::test {
namespace {

TEST(CraftedHello, BrowserLikeWithGrease) {
  Bytes msg = browser_like("mail.example.org").message();
  tg_hello_info info = parse(msg);
  ASSERT_EQ(info.status, TG_HELLO_OK);
  EXPECT_EQ(sni_of(info), "mail.example.org");
  EXPECT_NE(info.alpn_off, 0);
  EXPECT_NE(info.supported_versions_off, 0);
  EXPECT_EQ(info.cipher_suites_len, 10);
}

TEST(CraftedHello, PaddedBeyondOneSegment) {
  ClientHelloBuilder b = browser_like("padded.example");
  b.add(padding_extension(1700));
  Bytes msg = b.message();
  ASSERT_GT(msg.size(), 1500u);
  tg_hello_info info = parse(msg);
  ASSERT_EQ(info.status, TG_HELLO_OK);
  EXPECT_EQ(sni_of(info), "padded.example");
}

TEST(CraftedHello, LargePostQuantumKeyShare) {
  ClientHelloBuilder b = browser_like("pq.example");
  b.extensions.insert(b.extensions.begin() + 1, key_share_extension(0x11ec, 1216));
  b.extensions.erase(std::find_if(b.extensions.begin() + 2, b.extensions.end(),
                                  [](const Extension& e) { return e.type == 51; }));
  tg_hello_info info = parse(b.message());
  ASSERT_EQ(info.status, TG_HELLO_OK);
  EXPECT_EQ(sni_of(info), "pq.example");
}

TEST(CraftedHello, EveryExtensionOrderGivesTheSameResult) {
  ClientHelloBuilder b;
  b.add(sni_extension("order.example"))
      .add(alpn_extension({"h2"}))
      .add(supported_versions_extension({0x0304}))
      .add(key_share_extension(0x001d, 32))
      .add(opaque_extension(kGrease1, 0));
  std::sort(b.extensions.begin(), b.extensions.end(),
            [](const Extension& x, const Extension& y) { return x.type < y.type; });
  int orders = 0;
  do {
    tg_hello_info info = parse(b.message());
    ASSERT_EQ(info.status, TG_HELLO_OK) << "order " << orders;
    EXPECT_EQ(sni_of(info), "order.example");
    EXPECT_NE(info.alpn_off, 0);
    EXPECT_NE(info.supported_versions_off, 0);
    ++orders;
  } while (std::next_permutation(
      b.extensions.begin(), b.extensions.end(),
      [](const Extension& x, const Extension& y) { return x.type < y.type; }));
  EXPECT_EQ(orders, 120);
}

TEST(CraftedHello, WithoutExtensions) {
  ClientHelloBuilder b;
  b.with_extensions = false;
  tg_hello_info info = parse(b.message());
  ASSERT_EQ(info.status, TG_HELLO_OK);
  EXPECT_EQ(info.has_sni, 0);
  EXPECT_EQ(info.extensions_off, 0);
}

TEST(CraftedHello, EmptyExtensionBlock) {
  tg_hello_info info = parse(ClientHelloBuilder{}.message());
  ASSERT_EQ(info.status, TG_HELLO_OK);
  EXPECT_EQ(info.extensions_len, 0);
}

TEST(CraftedHello, OtherServerNameTypesAreSkipped) {
  ClientHelloBuilder b;
  b.add(server_name_list({{7, "opaque"}, {0, "named.example"}, {9, ""}}));
  tg_hello_info info = parse(b.message());
  ASSERT_EQ(info.status, TG_HELLO_OK);
  EXPECT_EQ(sni_of(info), "named.example");
}

TEST(CraftedHello, ServerNameListWithoutHostName) {
  ClientHelloBuilder b;
  b.add(server_name_list({{7, "opaque"}}));
  tg_hello_info info = parse(b.message());
  ASSERT_EQ(info.status, TG_HELLO_OK);
  EXPECT_EQ(info.has_sni, 0);
}

TEST(CraftedHello, SixtyFourExtensionsAreTheLimit) {
  ClientHelloBuilder b;
  b.add(sni_extension("many.example"));
  for (uint16_t t = 1; b.extensions.size() < TG_HELLO_MAX_EXTENSIONS; ++t) {
    b.add(opaque_extension(static_cast<uint16_t>(1000 + t), 1));
  }
  tg_hello_info info = parse(b.message());
  ASSERT_EQ(info.status, TG_HELLO_OK);
  EXPECT_EQ(sni_of(info), "many.example");

  b.add(opaque_extension(5000, 1));
  EXPECT_EQ(parse(b.message()).status, TG_HELLO_TOO_LARGE);
}

TEST(CraftedHello, LargestMessageHandled) {
  ClientHelloBuilder b = browser_like("big.example");
  size_t base = b.message().size();
  b.add(padding_extension(TG_HELLO_MAX - base - 4));
  Bytes msg = b.message();
  ASSERT_EQ(msg.size(), size_t{TG_HELLO_MAX});
  tg_hello_info info = parse(msg);
  ASSERT_EQ(info.status, TG_HELLO_OK);
  EXPECT_EQ(sni_of(info), "big.example");

  b.extensions.back().body.push_back(0);
  EXPECT_EQ(parse(b.message()).status, TG_HELLO_TOO_LARGE);
}

TEST(CraftedHello, BytesAfterTheMessageAreIgnored) {
  Bytes msg = browser_like("x.example").message();
  size_t len = msg.size();
  msg.insert(msg.end(), {20, 0, 0, 1, 0});  // the next handshake message, say
  tg_hello_info info = parse(msg);
  ASSERT_EQ(info.status, TG_HELLO_OK);
  EXPECT_EQ(info.msg_len, len);
}

TEST(CraftedHello, SniFoundBeforeTheEnd) {
  ClientHelloBuilder b;
  b.add(sni_extension("early.example")).add(padding_extension(3000));
  Bytes msg = b.message();
  tg_hello_info info{};
  ASSERT_EQ(tg_parse_client_hello(msg.data(), 1400, &info), TG_HELLO_NEED_MORE);
  EXPECT_EQ(info.status, TG_HELLO_NEED_MORE);
  EXPECT_EQ(info.has_sni, 1);
  EXPECT_EQ(sni_of(info), "early.example");
  EXPECT_EQ(info.msg_len, msg.size());
}

TEST(CraftedHello, SniAfterTheCutIsNotReported) {
  ClientHelloBuilder b;
  b.add(padding_extension(3000)).add(sni_extension("late.example"));
  Bytes msg = b.message();
  tg_hello_info info{};
  ASSERT_EQ(tg_parse_client_hello(msg.data(), 1400, &info), TG_HELLO_NEED_MORE);
  EXPECT_EQ(info.has_sni, 0);
}

}  // namespace
}  // namespace tlsgate::test
