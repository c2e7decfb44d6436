// ClientHellos for the parser tests: real ones written by OpenSSL, and
// crafted ones built field by field (GREASE, padding, odd orders, defects).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "parse_clienthello.h"

namespace tlsgate::test {

using Bytes = std::vector<uint8_t>;

struct OpensslHelloOptions {
  std::string sni;                // empty: no server_name extension
  std::vector<std::string> alpn;  // empty: no ALPN extension
  int min_version = 0;            // 0: OpenSSL's default
  int max_version = 0;
};

// The first flight OpenSSL's client writes (TLS records), via memory BIOs.
Bytes openssl_client_flight(const OpensslHelloOptions& options);

// The handshake message carried by a flight of handshake records.
Bytes handshake_from_records(std::span<const uint8_t> flight);

// Wraps a handshake message in one TLS handshake record.
Bytes as_record(std::span<const uint8_t> message);

struct Extension {
  uint16_t type = 0;
  Bytes body;
};

Extension sni_extension(std::string_view host_name);
// A server_name list of (name_type, name) entries, lengths computed.
Extension server_name_list(const std::vector<std::pair<uint8_t, std::string>>& entries);
Extension alpn_extension(const std::vector<std::string>& protocols);
Extension supported_versions_extension(const std::vector<uint16_t>& versions);
Extension key_share_extension(uint16_t group, size_t key_len);
Extension padding_extension(size_t len);
Extension opaque_extension(uint16_t type, size_t len);

inline constexpr uint16_t kGrease1 = 0x0a0a;
inline constexpr uint16_t kGrease2 = 0x9a9a;

// A ClientHello built field by field; message() is the handshake message.
struct ClientHelloBuilder {
  uint16_t legacy_version = 0x0303;
  size_t session_id_len = 32;
  std::vector<uint16_t> cipher_suites{kGrease1, 0x1301, 0x1302, 0x1303, 0xc02b};
  Bytes compression{0};
  bool with_extensions = true;
  std::vector<Extension> extensions;

  ClientHelloBuilder& add(Extension e) {
    extensions.push_back(std::move(e));
    return *this;
  }
  Bytes message() const;
};

// A browser-like ClientHello: GREASE, SNI, ALPN h2/http1.1, versions, key share.
ClientHelloBuilder browser_like(std::string_view host_name);

// Parses `message` whole.
tg_hello_info parse(std::span<const uint8_t> message);
std::string sni_of(const tg_hello_info& info);

void put_u16(Bytes& out, size_t value);
void put_u24(Bytes& out, size_t value);

}  // namespace tlsgate::test
