#include "common/ip_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace tlsgate {

IpAddress IpAddress::v4(const in_addr& a) {
  IpAddress ip;
  ip.family_ = AF_INET;
  std::memcpy(ip.bytes_.data(), &a, 4);
  return ip;
}

IpAddress IpAddress::v6(const in6_addr& a) {
  IpAddress ip;
  ip.family_ = AF_INET6;
  std::memcpy(ip.bytes_.data(), &a, 16);
  return ip;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton stops at a NUL, so "192.0.2.1\0junk" would parse as an address.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN ||
      text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  in_addr a4{};
  if (inet_pton(AF_INET, buf, &a4) == 1) return v4(a4);
  in6_addr a6{};
  if (inet_pton(AF_INET6, buf, &a6) == 1) return v6(a6);
  return std::nullopt;
}

std::optional<IpAddress> IpAddress::from_sockaddr(const sockaddr* sa) {
  if (sa == nullptr) return std::nullopt;
  if (sa->sa_family == AF_INET) return v4(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr);
  if (sa->sa_family == AF_INET6) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(sa);
    // A v4-mapped address (dual-stack socket) is reported as plain IPv4.
    if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
      in_addr a4{};
      std::memcpy(&a4, s6->sin6_addr.s6_addr + 12, 4);
      return v4(a4);
    }
    return v6(s6->sin6_addr);
  }
  return std::nullopt;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family_, bytes_.data(), buf, sizeof buf);
  return buf;
}

std::string Endpoint::to_string() const {
  if (address.is_v4()) return address.to_string() + ":" + std::to_string(port);
  return "[" + address.to_string() + "]:" + std::to_string(port);
}

socklen_t Endpoint::to_sockaddr(sockaddr_storage& out) const {
  out = {};
  if (address.is_v4()) {
    auto* sa = reinterpret_cast<sockaddr_in*>(&out);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    std::memcpy(&sa->sin_addr, address.bytes().data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sa = reinterpret_cast<sockaddr_in6*>(&out);
  sa->sin6_family = AF_INET6;
  sa->sin6_port = htons(port);
  std::memcpy(&sa->sin6_addr, address.bytes().data(), 16);
  return sizeof(sockaddr_in6);
}

namespace {

bool prefix_equal(const IpAddress& a, const IpAddress& b, unsigned bits) {
  const auto& x = a.bytes();
  const auto& y = b.bytes();
  unsigned full = bits / 8;
  if (std::memcmp(x.data(), y.data(), full) != 0) return false;
  unsigned rest = bits % 8;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (x[full] & mask) == (y[full] & mask);
}

IpAddress from_bytes(int family, const std::array<uint8_t, 16>& bytes) {
  if (family == AF_INET) {
    in_addr a4{};
    std::memcpy(&a4, bytes.data(), 4);
    return IpAddress::v4(a4);
  }
  in6_addr a6{};
  std::memcpy(&a6, bytes.data(), 16);
  return IpAddress::v6(a6);
}

}  // namespace

// Clamps the length and clears host bits so that every Cidr is canonical:
// equal prefixes compare equal and contains() never reads past the address.
Cidr::Cidr(IpAddress network, unsigned prefix_len)
    : network_(network), prefix_len_(std::min(prefix_len, network.is_v4() ? 32u : 128u)) {
  auto bytes = network_.bytes();
  for (unsigned bit = prefix_len_; bit < bytes.size() * 8; ++bit) {
    bytes[bit / 8] = static_cast<uint8_t>(bytes[bit / 8] & ~(0x80u >> (bit % 8)));
  }
  network_ = from_bytes(network_.family(), bytes);
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  unsigned max_len = addr->is_v4() ? 32 : 128;
  unsigned len = max_len;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    if (digits.empty()) return std::nullopt;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (ec != std::errc() || end != digits.data() + digits.size() || len > max_len) {
      return std::nullopt;
    }
  }
  // Host bits must be zero, as `ip route` requires: "10.0.0.1/8" is a typo.
  Cidr masked(*addr, len);
  for (unsigned bit = len; bit < max_len; ++bit) {
    if (addr->bytes()[bit / 8] & (0x80 >> (bit % 8))) return std::nullopt;
  }
  return masked;
}

bool Cidr::contains(const IpAddress& a) const {
  return a.family() == network_.family() && prefix_equal(a, network_, prefix_len_);
}

bool Cidr::overlaps(const Cidr& other) const {
  if (other.network_.family() != network_.family()) return false;
  unsigned shorter = std::min(prefix_len_, other.prefix_len_);
  return prefix_equal(network_, other.network_, shorter);
}

std::string Cidr::to_string() const {
  return network_.to_string() + "/" + std::to_string(prefix_len_);
}

}  // namespace tlsgate
