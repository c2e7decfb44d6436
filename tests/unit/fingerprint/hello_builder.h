// Builds ClientHello handshake messages field by field, for fingerprint tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tlsgate::fingerprint::testing {

struct Extension {
  uint16_t type;
  std::vector<uint8_t> body;
};

struct HelloSpec {
  uint16_t legacy_version = 0x0303;
  std::vector<uint16_t> ciphers;
  std::vector<Extension> extensions;
};

// The whole handshake message, 4-byte header included.
std::vector<uint8_t> build_hello(const HelloSpec& spec);

// Extension bodies.
Extension server_name(const std::string& host);
Extension alpn(const std::vector<std::string>& protocols);
Extension u16_list(uint16_t type, const std::vector<uint16_t>& values);  // 2-byte length
Extension supported_versions(const std::vector<uint16_t>& versions);     // 1-byte length
Extension key_share(const std::vector<uint16_t>& groups);                // 32 key bytes each
Extension opaque(uint16_t type, std::vector<uint8_t> body = {});

}  // namespace tlsgate::fingerprint::testing
