// Parsing the packets NFQUEUE hands over and the RST sent toward the server.
#include "nfqueue/tcp_packet.h"

#include <arpa/inet.h>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace tlsgate::nfqueue {
namespace {

using Bytes = std::vector<uint8_t>;

uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t{p[i]} << 8 | p[i + 1];
  if (n % 2) sum += uint32_t{p[n - 1]} << 8;
  return sum;
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

Bytes v4_segment(const Bytes& payload) {
  Bytes p(40, 0);
  p[0] = 0x45;
  p[2] = static_cast<uint8_t>((40 + payload.size()) >> 8);
  p[3] = static_cast<uint8_t>(40 + payload.size());
  p[8] = 64;
  p[9] = 6;
  inet_pton(AF_INET, "10.0.0.2", &p[12]);
  inet_pton(AF_INET, "192.0.2.7", &p[16]);
  p[20] = 0x9c, p[21] = 0x40;  // 40000
  p[22] = 0x01, p[23] = 0xbb;  // 443
  p[24] = 0x11, p[25] = 0x22, p[26] = 0x33, p[27] = 0x44;
  p[28] = 0x55, p[29] = 0x66, p[30] = 0x77, p[31] = 0x88;
  p[32] = 5 << 4;
  p[33] = kTcpAck;
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

TEST(TcpPacket, ParsesIpv4) {
  Bytes packet = v4_segment({'h', 'e', 'l', 'l', 'o'});
  auto p = parse_tcp_packet(packet);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->key.family, AF_INET);
  EXPECT_EQ(ntohs(p->key.sport), 40000);
  EXPECT_EQ(ntohs(p->key.dport), 443);
  EXPECT_EQ(p->seq, 0x11223344u);
  EXPECT_EQ(p->ack, 0x55667788u);
  EXPECT_EQ(p->payload.size(), 5u);
  char dst[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &p->key.daddr[0], dst, sizeof dst);
  EXPECT_STREQ(dst, "192.0.2.7");
}

TEST(TcpPacket, ParsesIpv6WithAnExtensionHeader) {
  Bytes v4 = v4_segment({1, 2, 3});
  Bytes p(40 + 8, 0);
  p[0] = 0x60;
  size_t payload_len = 8 + 20 + 3;
  p[4] = 0;
  p[5] = static_cast<uint8_t>(payload_len);
  p[6] = 0;  // hop-by-hop
  p[7] = 64;
  inet_pton(AF_INET6, "fd00::2", &p[8]);
  inet_pton(AF_INET6, "2001:db8::7", &p[24]);
  p[40] = 6;  // next: TCP
  p.insert(p.end(), v4.begin() + 20, v4.end());
  auto parsed = parse_tcp_packet(p);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->key.family, AF_INET6);
  EXPECT_EQ(parsed->payload.size(), 3u);
  EXPECT_EQ(ntohs(parsed->key.dport), 443);
}

TEST(TcpPacket, RefusesWhatIsNotTcp) {
  Bytes packet = v4_segment({});
  packet[9] = 17;
  EXPECT_FALSE(parse_tcp_packet(packet));
  EXPECT_FALSE(parse_tcp_packet(Bytes{0x45, 0}));
  Bytes fragment = v4_segment({});
  fragment[7] = 1;  // offset 8
  EXPECT_FALSE(parse_tcp_packet(fragment));
}

TEST(TcpPacket, AbortTowardServerIsAValidRst) {
  Bytes packet = v4_segment(Bytes(300, 'x'));
  auto p = parse_tcp_packet(packet);
  ASSERT_TRUE(p);
  Bytes rst = abort_toward_server(*p);
  ASSERT_EQ(rst.size(), 40u);
  EXPECT_EQ(fold(sum16(rst.data(), 20)), 0);  // IP checksum
  EXPECT_EQ(rst[33], kTcpRst | kTcpAck);
  auto parsed = parse_tcp_packet(rst);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->seq, p->seq);
  EXPECT_EQ(parsed->ack, p->ack);
  EXPECT_EQ(std::memcmp(&parsed->key, &p->key, sizeof p->key), 0);
  EXPECT_TRUE(parsed->payload.empty());
  uint32_t pseudo = sum16(&rst[12], 8) + 6 + 20;
  EXPECT_EQ(fold(sum16(&rst[20], 20, pseudo)), 0);  // TCP checksum
}

}  // namespace
}  // namespace tlsgate::nfqueue
