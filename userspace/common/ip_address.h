// IPv4/IPv6 addresses and CIDR prefixes, as used by rules, the kernel maps and
// the terminator. Addresses are stored in network byte order.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tlsgate {

class IpAddress {
 public:
  IpAddress() = default;
  static IpAddress v4(const in_addr& a);
  static IpAddress v6(const in6_addr& a);
  // Parses "192.0.2.1" or "2001:db8::1"; nullopt when it is neither.
  static std::optional<IpAddress> parse(std::string_view text);
  // From a sockaddr_in / sockaddr_in6; nullopt for other families.
  static std::optional<IpAddress> from_sockaddr(const sockaddr* sa);

  int family() const { return family_; }  // AF_INET or AF_INET6
  bool is_v4() const { return family_ == AF_INET; }
  // 4 or 16 meaningful bytes, network order.
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  size_t size() const { return is_v4() ? 4 : 16; }
  std::string to_string() const;

  auto operator<=>(const IpAddress&) const = default;

 private:
  int family_ = AF_INET;
  std::array<uint8_t, 16> bytes_{};
};

// Address plus port, e.g. the original destination of a steered flow.
struct Endpoint {
  IpAddress address;
  uint16_t port = 0;              // host byte order
  std::string to_string() const;  // "192.0.2.1:443" or "[2001:db8::1]:443"
  // Fills a sockaddr_in / sockaddr_in6; returns its length.
  socklen_t to_sockaddr(sockaddr_storage& out) const;
  auto operator<=>(const Endpoint&) const = default;
};

class Cidr {
 public:
  Cidr() = default;
  // Clamps prefix_len to the family's width and clears host bits.
  Cidr(IpAddress network, unsigned prefix_len);
  // Parses "10.0.0.0/8", "2001:db8::/32" or a bare address (host prefix).
  // Host bits set below the prefix are an error (nullopt), as in `ip route`.
  static std::optional<Cidr> parse(std::string_view text);

  const IpAddress& network() const { return network_; }
  unsigned prefix_len() const { return prefix_len_; }
  bool contains(const IpAddress& a) const;
  bool overlaps(const Cidr& other) const;
  std::string to_string() const;

  auto operator<=>(const Cidr&) const = default;

 private:
  IpAddress network_;
  unsigned prefix_len_ = 0;
};

}  // namespace tlsgate
