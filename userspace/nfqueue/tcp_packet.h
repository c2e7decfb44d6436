// The IPv4/IPv6 TCP packets NFQUEUE delivers (starting at the IP header):
// what the classifier needs to know of one, and the RST it sends in place of
// a refused flow's segment.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tlsgate_abi.h"

namespace tlsgate::nfqueue {

struct TcpPacket {
  tg_flow_key key{};  // as the TC program keys the flow table (client -> server)
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  std::span<const uint8_t> payload;
};

inline constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10;

// nullopt unless `packet` is a TCP segment over IPv4 (not a later fragment)
// or IPv6 (extension headers walked).
std::optional<TcpPacket> parse_tcp_packet(std::span<const uint8_t> packet);

// The client aborting its flow at `p`: a bare IP + TCP RST|ACK toward the
// server with SEQ = p.seq (what the server expects next), checksums computed.
std::vector<uint8_t> abort_toward_server(const TcpPacket& p);

}  // namespace tlsgate::nfqueue
