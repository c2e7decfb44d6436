// What the parser reports as the SNI is what policy matches, what goes
// upstream and what is validated (SECURITY-BATTERY case 35): lower case, no
// trailing dot.
#include <gtest/gtest.h>

#include "client_hello_fixtures.h"

namespace tlsgate::test {
namespace {

std::string normalized(const std::string& name) {
  ClientHelloBuilder b;
  b.add(sni_extension(name));
  tg_hello_info info = parse(b.message());
  EXPECT_EQ(info.status, TG_HELLO_OK) << name;
  return sni_of(info);
}

TEST(Normalization, LowerCase) {
  EXPECT_EQ(normalized("WWW.EXAMPLE.COM"), "www.example.com");
  EXPECT_EQ(normalized("Mixed-Case.Example"), "mixed-case.example");
}

TEST(Normalization, OneTrailingDotRemoved) {
  EXPECT_EQ(normalized("www.example.com."), "www.example.com");
  EXPECT_EQ(normalized("Bank.Example."), "bank.example");
}

TEST(Normalization, AllowedPunctuationKept) {
  EXPECT_EQ(normalized("_dmarc.my-host.example"), "_dmarc.my-host.example");
  EXPECT_EQ(normalized("xn--bcher-kva.example"), "xn--bcher-kva.example");
}

TEST(Normalization, SingleLabel) {
  EXPECT_EQ(normalized("localhost"), "localhost");
}

TEST(Normalization, NulTerminatedAndNothingBeyond) {
  ClientHelloBuilder b;
  b.add(sni_extension("Short.Example."));
  tg_hello_info info = parse(b.message());
  ASSERT_EQ(info.sni_len, 13);
  EXPECT_EQ(info.sni[13], '\0');
  for (size_t i = 13; i < sizeof(info.sni); ++i) EXPECT_EQ(info.sni[i], '\0') << i;
}

}  // namespace
}  // namespace tlsgate::test
