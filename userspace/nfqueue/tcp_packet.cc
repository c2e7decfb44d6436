#include "nfqueue/tcp_packet.h"

#include <netinet/in.h>

#include <cstring>

namespace tlsgate::nfqueue {

namespace {

constexpr size_t kMaxIpv6ExtensionHeaders = 6;

uint32_t get16(std::span<const uint8_t> b, size_t off) {
  return uint32_t{b[off]} << 8 | b[off + 1];
}

uint32_t get32(std::span<const uint8_t> b, size_t off) {
  return get16(b, off) << 16 | get16(b, off + 2);
}

void put16(std::vector<uint8_t>& b, size_t off, uint32_t v) {
  b[off] = static_cast<uint8_t>(v >> 8);
  b[off + 1] = static_cast<uint8_t>(v);
}

void put32(std::vector<uint8_t>& b, size_t off, uint32_t v) {
  put16(b, off, v >> 16);
  put16(b, off + 2, v & 0xffff);
}

uint32_t sum16(std::span<const uint8_t> data, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < data.size(); i += 2) sum += get16(data, i);
  if (data.size() % 2) sum += uint32_t{data.back()} << 8;
  return sum;
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// Fills key/ports/seq/... from the TCP header at `l4` of `l4_len` bytes.
std::optional<TcpPacket> parse_tcp(std::span<const uint8_t> packet, size_t l4, size_t l4_len,
                                   TcpPacket p) {
  if (l4_len < 20 || l4 + l4_len > packet.size()) return std::nullopt;
  size_t doff = static_cast<size_t>(packet[l4 + 12] >> 4) * 4;
  if (doff < 20 || doff > l4_len) return std::nullopt;
  p.key.sport = htons(static_cast<uint16_t>(get16(packet, l4)));
  p.key.dport = htons(static_cast<uint16_t>(get16(packet, l4 + 2)));
  p.seq = get32(packet, l4 + 4);
  p.ack = get32(packet, l4 + 8);
  p.flags = packet[l4 + 13];
  p.payload = packet.subspan(l4 + doff, l4_len - doff);
  return p;
}

}  // namespace

std::optional<TcpPacket> parse_tcp_packet(std::span<const uint8_t> packet) {
  TcpPacket p;
  if (packet.empty()) return std::nullopt;
  if ((packet[0] >> 4) == 4) {
    if (packet.size() < 20) return std::nullopt;
    size_t hlen = size_t{packet[0] & 0x0fu} * 4;
    size_t total = get16(packet, 2);
    if (hlen < 20 || total < hlen || total > packet.size() || packet[9] != IPPROTO_TCP) {
      return std::nullopt;
    }
    if (get16(packet, 6) & 0x1fff) return std::nullopt;  // a later fragment
    p.key.family = AF_INET;
    std::memcpy(&p.key.saddr[0], &packet[12], 4);
    std::memcpy(&p.key.daddr[0], &packet[16], 4);
    return parse_tcp(packet, hlen, total - hlen, p);
  }
  if ((packet[0] >> 4) == 6) {
    if (packet.size() < 40) return std::nullopt;
    size_t end = 40 + get16(packet, 4);
    if (end > packet.size()) return std::nullopt;
    p.key.family = AF_INET6;
    std::memcpy(p.key.saddr, &packet[8], 16);
    std::memcpy(p.key.daddr, &packet[24], 16);
    size_t off = 40;
    uint8_t next = packet[6];
    for (size_t i = 0; i < kMaxIpv6ExtensionHeaders && next != IPPROTO_TCP; ++i) {
      if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS) break;
      if (off + 2 > end) return std::nullopt;
      next = packet[off];
      off += (size_t{packet[off + 1]} + 1) * 8;
    }
    if (next != IPPROTO_TCP || off > end) return std::nullopt;
    return parse_tcp(packet, off, end - off, p);
  }
  return std::nullopt;
}

std::vector<uint8_t> abort_toward_server(const TcpPacket& p) {
  const bool v4 = p.key.family == AF_INET;
  const size_t ip_len = v4 ? 20 : 40;
  std::vector<uint8_t> out(ip_len + 20, 0);
  const size_t addr_len = v4 ? 4 : 16;
  std::span<const uint8_t> src(reinterpret_cast<const uint8_t*>(p.key.saddr), addr_len);
  std::span<const uint8_t> dst(reinterpret_cast<const uint8_t*>(p.key.daddr), addr_len);
  if (v4) {
    out[0] = 0x45;
    put16(out, 2, static_cast<uint32_t>(out.size()));
    put16(out, 6, 0x4000);  // DF
    out[8] = 64;
    out[9] = IPPROTO_TCP;
    std::memcpy(&out[12], src.data(), 4);
    std::memcpy(&out[16], dst.data(), 4);
    put16(out, 10, fold(sum16(std::span<const uint8_t>(out).first(20))));
  } else {
    out[0] = 0x60;
    put16(out, 4, 20);
    out[6] = IPPROTO_TCP;
    out[7] = 64;
    std::memcpy(&out[8], src.data(), 16);
    std::memcpy(&out[24], dst.data(), 16);
  }
  const size_t tcp = ip_len;
  put16(out, tcp, ntohs(p.key.sport));
  put16(out, tcp + 2, ntohs(p.key.dport));
  put32(out, tcp + 4, p.seq);
  put32(out, tcp + 8, p.ack);
  out[tcp + 12] = 5 << 4;
  out[tcp + 13] = kTcpRst | kTcpAck;
  uint32_t pseudo = sum16(dst, sum16(src)) + IPPROTO_TCP + 20;
  put16(out, tcp + 16, fold(sum16(std::span<const uint8_t>(out).subspan(tcp), pseudo)));
  return out;
}

}  // namespace tlsgate::nfqueue
