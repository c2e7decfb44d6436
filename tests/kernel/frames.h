// Ethernet frames carrying TCP over IPv4 or IPv6, built and parsed for the
// BPF_PROG_TEST_RUN tests, with real checksums.
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

}  // namespace tlsgate::test
