// Ethernet frames carrying TCP or UDP over IPv4 or IPv6, built and parsed for
// the BPF_PROG_TEST_RUN tests, with real checksums; ICMP errors parsed.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/ip_address.h"

namespace tlsgate::test {

using Bytes = std::vector<uint8_t>;

inline constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;
inline constexpr std::array<uint8_t, 6> kClientMac{0x02, 0, 0, 0, 0, 0x02};
inline constexpr std::array<uint8_t, 6> kRouterMac{0x02, 0, 0, 0, 0, 0x01};

struct TcpFrameSpec {
  std::string src{};  // IPv4 or IPv6 literal; dst of the same family
  std::string dst{};
  uint16_t sport = 40000;
  uint16_t dport = 443;
  uint8_t flags = kSyn;
  uint32_t seq = 1000;
  uint32_t ack = 0;
  Bytes payload{};
  size_t tcp_option_words = 0;  // 4-byte words of NOP options (a SYN usually has some)
  bool ipv4_more_fragments = false;
};

Bytes build_tcp_frame(const TcpFrameSpec& spec);

struct TcpFrameView {
  std::array<uint8_t, 6> dst_mac{}, src_mac{};
  IpAddress src, dst;
  uint16_t sport = 0, dport = 0;
  uint8_t flags = 0;
  uint32_t seq = 0, ack = 0;
  uint16_t window = 0;
  uint8_t ttl = 0;
  size_t ip_header_len = 0, tcp_header_len = 0, payload_len = 0;
  bool ip_checksum_ok = false;  // IPv4 only (IPv6 has none)
  bool tcp_checksum_ok = false;
};

// nullopt unless `frame` is exactly Ethernet + IP + TCP (+ payload).
std::optional<TcpFrameView> parse_tcp_frame(std::span<const uint8_t> frame);

struct UdpFrameSpec {
  std::string src{};
  std::string dst{};
  uint16_t sport = 50000;
  uint16_t dport = 443;
  Bytes payload{};
};

Bytes build_udp_frame(const UdpFrameSpec& spec);

// An ICMP / ICMPv6 error and the datagram it quotes.
struct IcmpErrorView {
  std::array<uint8_t, 6> dst_mac{}, src_mac{};
  IpAddress src, dst;  // of the error itself
  uint8_t type = 0, code = 0;
  bool ip_checksum_ok = false;  // IPv4 only
  bool icmp_checksum_ok = false;
  IpAddress quoted_src, quoted_dst;
  uint16_t quoted_sport = 0, quoted_dport = 0;
  uint8_t quoted_protocol = 0;
};

// nullopt unless `frame` is Ethernet + IP + ICMP(v6) error quoting IP + 8 bytes.
std::optional<IcmpErrorView> parse_icmp_error(std::span<const uint8_t> frame);

}  // namespace tlsgate::test
