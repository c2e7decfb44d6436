#include "common/ip_address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/un.h>

#include <cstring>
#include <string>

namespace tlsgate {
namespace {

IpAddress ip(const char* text) {
  return IpAddress::parse(text).value();
}
Cidr cidr(const char* text) {
  return Cidr::parse(text).value();
}

TEST(IpAddress, ParsesV4AndV6) {
  auto v4 = IpAddress::parse("192.0.2.1");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->is_v4());
  EXPECT_EQ(v4->size(), 4u);
  EXPECT_EQ(v4->to_string(), "192.0.2.1");
  EXPECT_EQ(v4->bytes()[0], 192);  // network order

  auto v6 = IpAddress::parse("2001:DB8::1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family(), AF_INET6);
  EXPECT_EQ(v6->size(), 16u);
  EXPECT_EQ(v6->to_string(), "2001:db8::1");
}

TEST(IpAddress, RejectsWhatIsNotAnAddress) {
  for (const char* bad :
       {"", "example.com", "192.0.2", "192.0.2.256", "192.0.2.1 ", " 192.0.2.1", "2001:db8::1::2",
        "192.0.2.1/24", "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000"}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
}

TEST(IpAddress, RejectsEmbeddedNul) {
  // inet_pton would stop at the NUL and accept the address in front of it.
  EXPECT_FALSE(IpAddress::parse(std::string_view("192.0.2.1\0junk", 14)));
}

TEST(IpAddress, FromSockaddrUnmapsV4MappedAddresses) {
  sockaddr_in6 s6{};
  s6.sin6_family = AF_INET6;
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:198.51.100.7", &s6.sin6_addr), 1);
  auto a = IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&s6));
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_v4());
  EXPECT_EQ(*a, ip("198.51.100.7"));
  // So a v4 rule matches a client accepted on a dual-stack socket.
  EXPECT_TRUE(cidr("198.51.100.0/24").contains(*a));
}

TEST(IpAddress, FromSockaddrPlainFamilies) {
  sockaddr_in s4{};
  s4.sin_family = AF_INET;
  ASSERT_EQ(inet_pton(AF_INET, "203.0.113.9", &s4.sin_addr), 1);
  EXPECT_EQ(IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&s4)), ip("203.0.113.9"));

  sockaddr_in6 s6{};
  s6.sin6_family = AF_INET6;
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8::5", &s6.sin6_addr), 1);
  EXPECT_EQ(IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&s6)), ip("2001:db8::5"));

  sockaddr_un su{};
  su.sun_family = AF_UNIX;
  EXPECT_FALSE(IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&su)));
  EXPECT_FALSE(IpAddress::from_sockaddr(nullptr));
}

TEST(Endpoint, FormatsWithBracketsForV6) {
  EXPECT_EQ((Endpoint{ip("192.0.2.1"), 443}).to_string(), "192.0.2.1:443");
  EXPECT_EQ((Endpoint{ip("2001:db8::1"), 443}).to_string(), "[2001:db8::1]:443");
}

TEST(Cidr, ParsesPrefixesAndBareAddresses) {
  EXPECT_EQ(cidr("10.0.0.0/8").prefix_len(), 8u);
  EXPECT_EQ(cidr("10.0.0.0/8").to_string(), "10.0.0.0/8");
  EXPECT_EQ(cidr("192.0.2.7").prefix_len(), 32u);
  EXPECT_EQ(cidr("2001:db8::/32").to_string(), "2001:db8::/32");
  EXPECT_EQ(cidr("2001:db8::1").prefix_len(), 128u);
  EXPECT_EQ(cidr("0.0.0.0/0").prefix_len(), 0u);
}

TEST(Cidr, RejectsHostBitsAndBadLengths) {
  for (const char* bad :
       {"10.0.0.1/8", "2001:db8::1/32", "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/-1",
        "10.0.0.0/8x", "/8", "example/8", "10.0.0.0/8/8"}) {
    EXPECT_FALSE(Cidr::parse(bad)) << bad;
  }
}

TEST(Cidr, Contains) {
  EXPECT_TRUE(cidr("10.0.0.0/8").contains(ip("10.255.1.2")));
  EXPECT_FALSE(cidr("10.0.0.0/8").contains(ip("11.0.0.0")));
  EXPECT_TRUE(cidr("192.0.2.0/25").contains(ip("192.0.2.127")));
  EXPECT_FALSE(cidr("192.0.2.0/25").contains(ip("192.0.2.128")));
  EXPECT_TRUE(cidr("0.0.0.0/0").contains(ip("203.0.113.1")));
  EXPECT_TRUE(cidr("2001:db8::/32").contains(ip("2001:db8:ffff::1")));
  EXPECT_FALSE(cidr("2001:db8::/32").contains(ip("2001:db9::1")));
  EXPECT_TRUE(cidr("192.0.2.7").contains(ip("192.0.2.7")));
  EXPECT_FALSE(cidr("192.0.2.7").contains(ip("192.0.2.6")));
  // Families never mix: ::/0 does not contain IPv4 and 0.0.0.0/0 no IPv6.
  EXPECT_FALSE(cidr("::/0").contains(ip("10.0.0.1")));
  EXPECT_FALSE(cidr("0.0.0.0/0").contains(ip("::1")));
}

TEST(Cidr, Overlaps) {
  EXPECT_TRUE(cidr("10.0.0.0/8").overlaps(cidr("10.1.0.0/16")));
  EXPECT_TRUE(cidr("10.1.0.0/16").overlaps(cidr("10.0.0.0/8")));
  EXPECT_TRUE(cidr("10.1.0.0/16").overlaps(cidr("10.1.0.0/16")));
  EXPECT_FALSE(cidr("10.0.0.0/16").overlaps(cidr("10.1.0.0/16")));
  EXPECT_FALSE(cidr("192.0.2.0/25").overlaps(cidr("192.0.2.128/25")));
  EXPECT_TRUE(cidr("0.0.0.0/0").overlaps(cidr("192.0.2.1")));
  EXPECT_FALSE(cidr("::/0").overlaps(cidr("0.0.0.0/0")));
  EXPECT_TRUE(cidr("2001:db8::/32").overlaps(cidr("2001:db8:1::/48")));
}

TEST(Cidr, ConstructorCanonicalizes) {
  // Host bits are cleared, so equal prefixes compare equal.
  EXPECT_EQ(Cidr(ip("10.1.2.3"), 8), cidr("10.0.0.0/8"));
  EXPECT_EQ(Cidr(ip("2001:db8::1"), 32), cidr("2001:db8::/32"));
  // An over-long prefix is clamped rather than read past the address.
  EXPECT_EQ(Cidr(ip("10.1.2.3"), 200).prefix_len(), 32u);
  EXPECT_TRUE(Cidr(ip("10.1.2.3"), 200).contains(ip("10.1.2.3")));
}

}  // namespace
}  // namespace tlsgate
