#include "frames.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace tlsgate::test {

namespace {

void put16(Bytes& b, size_t off, uint32_t v) {
  b[off] = static_cast<uint8_t>(v >> 8);
  b[off + 1] = static_cast<uint8_t>(v);
}

void put32(Bytes& b, size_t off, uint32_t v) {
  put16(b, off, v >> 16);
  put16(b, off + 2, v & 0xffff);
}

uint32_t get16(std::span<const uint8_t> b, size_t off) {
  return uint32_t{b[off]} << 8 | b[off + 1];
}

uint32_t get32(std::span<const uint8_t> b, size_t off) {
  return get16(b, off) << 16 | get16(b, off + 2);
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

// Ones' complement sum of the pseudo-header (TCP: 6, UDP: 17, ICMPv6: 58).
uint32_t pseudo_header_sum(const IpAddress& src, const IpAddress& dst, size_t len,
                           uint32_t protocol = 6) {
  std::span<const uint8_t> s(src.bytes().data(), src.size());
  std::span<const uint8_t> d(dst.bytes().data(), dst.size());
  return sum16(d, sum16(s)) + protocol + static_cast<uint32_t>(len);
}

// Ethernet + IP header for `l4_len` bytes of `protocol`; returns the L4 offset.
size_t put_ip(Bytes& f, const IpAddress& src, const IpAddress& dst, uint8_t protocol,
              size_t l4_len) {
  const bool v4 = src.is_v4();
  f.assign(14 + (v4 ? 20 : 40), 0);
  std::copy(kRouterMac.begin(), kRouterMac.end(), f.begin());
  std::copy(kClientMac.begin(), kClientMac.end(), f.begin() + 6);
  put16(f, 12, v4 ? 0x0800 : 0x86dd);
  const size_t ip = 14;
  if (v4) {
    f[ip] = 0x45;
    put16(f, ip + 2, static_cast<uint32_t>(20 + l4_len));
    put16(f, ip + 6, 0x4000);
    f[ip + 8] = 64;
    f[ip + 9] = protocol;
    std::copy_n(src.bytes().begin(), 4, f.begin() + ip + 12);
    std::copy_n(dst.bytes().begin(), 4, f.begin() + ip + 16);
    put16(f, ip + 10, fold(sum16(std::span<const uint8_t>(f).subspan(ip, 20))));
  } else {
    f[ip] = 0x60;
    put16(f, ip + 4, static_cast<uint32_t>(l4_len));
    f[ip + 6] = protocol;
    f[ip + 7] = 64;
    std::copy_n(src.bytes().begin(), 16, f.begin() + ip + 8);
    std::copy_n(dst.bytes().begin(), 16, f.begin() + ip + 24);
  }
  return f.size();
}

}  // namespace

Bytes build_tcp_frame(const TcpFrameSpec& spec) {
  IpAddress src = IpAddress::parse(spec.src).value();
  IpAddress dst = IpAddress::parse(spec.dst).value();
  const bool v4 = src.is_v4();
  const size_t ip_len = v4 ? 20 : 40;
  const size_t tcp_len = 20 + spec.tcp_option_words * 4;
  Bytes f(14 + ip_len + tcp_len, 0);
  std::copy(kRouterMac.begin(), kRouterMac.end(), f.begin());
  std::copy(kClientMac.begin(), kClientMac.end(), f.begin() + 6);
  put16(f, 12, v4 ? 0x0800 : 0x86dd);

  const size_t ip = 14;
  if (v4) {
    f[ip] = 0x45;
    put16(f, ip + 2, static_cast<uint32_t>(ip_len + tcp_len + spec.payload.size()));
    put16(f, ip + 4, 0x1234);
    put16(f, ip + 6, spec.ipv4_more_fragments ? 0x2000 : 0x4000);
    f[ip + 8] = 64;
    f[ip + 9] = 6;
    std::copy_n(src.bytes().begin(), 4, f.begin() + ip + 12);
    std::copy_n(dst.bytes().begin(), 4, f.begin() + ip + 16);
    put16(f, ip + 10, fold(sum16(std::span<const uint8_t>(f).subspan(ip, 20))));
  } else {
    f[ip] = 0x60;
    put16(f, ip + 4, static_cast<uint32_t>(tcp_len + spec.payload.size()));
    f[ip + 6] = 6;
    f[ip + 7] = 64;
    std::copy_n(src.bytes().begin(), 16, f.begin() + ip + 8);
    std::copy_n(dst.bytes().begin(), 16, f.begin() + ip + 24);
  }

  const size_t tcp = ip + ip_len;
  put16(f, tcp, spec.sport);
  put16(f, tcp + 2, spec.dport);
  put32(f, tcp + 4, spec.seq);
  put32(f, tcp + 8, spec.ack);
  f[tcp + 12] = static_cast<uint8_t>((tcp_len / 4) << 4);
  f[tcp + 13] = spec.flags;
  put16(f, tcp + 14, 64240);
  for (size_t i = 20; i < tcp_len; ++i) f[tcp + i] = 1;  // NOP
  f.insert(f.end(), spec.payload.begin(), spec.payload.end());
  std::span<const uint8_t> segment = std::span<const uint8_t>(f).subspan(tcp);
  put16(f, tcp + 16, fold(sum16(segment, pseudo_header_sum(src, dst, segment.size()))));
  return f;
}

Bytes build_udp_frame(const UdpFrameSpec& spec) {
  IpAddress src = IpAddress::parse(spec.src).value();
  IpAddress dst = IpAddress::parse(spec.dst).value();
  Bytes f;
  const size_t udp_len = 8 + spec.payload.size();
  const size_t udp = put_ip(f, src, dst, 17, udp_len);
  f.resize(udp + 8, 0);
  put16(f, udp, spec.sport);
  put16(f, udp + 2, spec.dport);
  put16(f, udp + 4, static_cast<uint32_t>(udp_len));
  f.insert(f.end(), spec.payload.begin(), spec.payload.end());
  std::span<const uint8_t> datagram = std::span<const uint8_t>(f).subspan(udp);
  put16(f, udp + 6, fold(sum16(datagram, pseudo_header_sum(src, dst, udp_len, 17))));
  return f;
}

std::optional<IcmpErrorView> parse_icmp_error(std::span<const uint8_t> f) {
  IcmpErrorView v;
  if (f.size() < 14) return std::nullopt;
  std::copy_n(f.begin(), 6, v.dst_mac.begin());
  std::copy_n(f.begin() + 6, 6, v.src_mac.begin());
  const size_t ip = 14;
  size_t icmp, quoted_ip, quoted_l4;
  uint32_t type = get16(f, 12);
  if (type == 0x0800) {
    if (f.size() < ip + 20 + 8 + 20 + 8 || f[ip] != 0x45 || f[ip + 9] != 1) return std::nullopt;
    if (get16(f, ip + 2) + ip != f.size()) return std::nullopt;
    in_addr s{}, d{};
    std::memcpy(&s, &f[ip + 12], 4);
    std::memcpy(&d, &f[ip + 16], 4);
    v.src = IpAddress::v4(s);
    v.dst = IpAddress::v4(d);
    v.ip_checksum_ok = fold(sum16(f.subspan(ip, 20))) == 0;
    icmp = ip + 20;
    v.icmp_checksum_ok = fold(sum16(f.subspan(icmp))) == 0;
    quoted_ip = icmp + 8;
    if ((f[quoted_ip] >> 4) != 4) return std::nullopt;
    std::memcpy(&s, &f[quoted_ip + 12], 4);
    std::memcpy(&d, &f[quoted_ip + 16], 4);
    v.quoted_src = IpAddress::v4(s);
    v.quoted_dst = IpAddress::v4(d);
    v.quoted_protocol = f[quoted_ip + 9];
    quoted_l4 = quoted_ip + size_t{f[quoted_ip] & 0x0fu} * 4;
  } else if (type == 0x86dd) {
    if (f.size() < ip + 40 + 8 + 40 + 8 || (f[ip] >> 4) != 6 || f[ip + 6] != 58)
      return std::nullopt;
    if (get16(f, ip + 4) + ip + 40 != f.size()) return std::nullopt;
    in6_addr s{}, d{};
    std::memcpy(&s, &f[ip + 8], 16);
    std::memcpy(&d, &f[ip + 24], 16);
    v.src = IpAddress::v6(s);
    v.dst = IpAddress::v6(d);
    icmp = ip + 40;
    std::span<const uint8_t> message = f.subspan(icmp);
    v.icmp_checksum_ok =
        fold(sum16(message, pseudo_header_sum(v.src, v.dst, message.size(), 58))) == 0;
    quoted_ip = icmp + 8;
    if ((f[quoted_ip] >> 4) != 6) return std::nullopt;
    std::memcpy(&s, &f[quoted_ip + 8], 16);
    std::memcpy(&d, &f[quoted_ip + 24], 16);
    v.quoted_src = IpAddress::v6(s);
    v.quoted_dst = IpAddress::v6(d);
    v.quoted_protocol = f[quoted_ip + 6];
    quoted_l4 = quoted_ip + 40;
  } else {
    return std::nullopt;
  }
  v.type = f[icmp];
  v.code = f[icmp + 1];
  if (quoted_l4 + 8 > f.size()) return std::nullopt;
  v.quoted_sport = static_cast<uint16_t>(get16(f, quoted_l4));
  v.quoted_dport = static_cast<uint16_t>(get16(f, quoted_l4 + 2));
  return v;
}

std::optional<TcpFrameView> parse_tcp_frame(std::span<const uint8_t> f) {
  TcpFrameView v;
  if (f.size() < 14) return std::nullopt;
  std::copy_n(f.begin(), 6, v.dst_mac.begin());
  std::copy_n(f.begin() + 6, 6, v.src_mac.begin());
  const size_t ip = 14;
  size_t total;
  uint32_t type = get16(f, 12);
  if (type == 0x0800) {
    if (f.size() < ip + 20 || (f[ip] >> 4) != 4 || f[ip + 9] != 6) return std::nullopt;
    v.ip_header_len = size_t{f[ip] & 0x0fu} * 4;
    total = get16(f, ip + 2);
    v.ttl = f[ip + 8];
    in_addr s{}, d{};
    std::memcpy(&s, &f[ip + 12], 4);
    std::memcpy(&d, &f[ip + 16], 4);
    v.src = IpAddress::v4(s);
    v.dst = IpAddress::v4(d);
    v.ip_checksum_ok = fold(sum16(f.subspan(ip, v.ip_header_len))) == 0;
  } else if (type == 0x86dd) {
    if (f.size() < ip + 40 || (f[ip] >> 4) != 6 || f[ip + 6] != 6) return std::nullopt;
    v.ip_header_len = 40;
    total = 40 + get16(f, ip + 4);
    v.ttl = f[ip + 7];
    in6_addr s{}, d{};
    std::memcpy(&s, &f[ip + 8], 16);
    std::memcpy(&d, &f[ip + 24], 16);
    v.src = IpAddress::v6(s);
    v.dst = IpAddress::v6(d);
  } else {
    return std::nullopt;
  }
  if (ip + total != f.size() || total < v.ip_header_len + 20) return std::nullopt;
  const size_t tcp = ip + v.ip_header_len;
  v.sport = static_cast<uint16_t>(get16(f, tcp));
  v.dport = static_cast<uint16_t>(get16(f, tcp + 2));
  v.seq = get32(f, tcp + 4);
  v.ack = get32(f, tcp + 8);
  v.tcp_header_len = static_cast<size_t>(f[tcp + 12] >> 4) * 4;
  v.flags = f[tcp + 13];
  v.window = static_cast<uint16_t>(get16(f, tcp + 14));
  std::span<const uint8_t> segment = f.subspan(tcp);
  if (v.tcp_header_len < 20 || v.tcp_header_len > segment.size()) return std::nullopt;
  v.payload_len = segment.size() - v.tcp_header_len;
  v.tcp_checksum_ok = fold(sum16(segment, pseudo_header_sum(v.src, v.dst, segment.size()))) == 0;
  return v;
}

}  // namespace tlsgate::test
