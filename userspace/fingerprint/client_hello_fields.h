// The fields of a ClientHello that fingerprints (JA4) and the security delta
// read: cipher suites, extension types in order, offered versions, groups,
// key shares, signature algorithms, ALPN. A parser of its own because the
// shared kernel parser (bpf/parse_clienthello.h) keeps only what
// classification needs. GREASE values (RFC 8701) are left out everywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tlsgate::fingerprint {

struct ClientHelloFields {
  uint16_t legacy_version = 0;
  std::vector<uint16_t> ciphers;             // as offered
  std::vector<uint16_t> extensions;          // types, as offered
  std::vector<uint16_t> supported_versions;  // extension 43, as offered
  std::vector<uint16_t> signature_algorithms;
  std::vector<uint16_t> groups;            // supported_groups (10)
  std::vector<uint16_t> key_share_groups;  // key_share (51), the groups shares were sent for
  std::vector<std::string> alpn;           // protocol names, as offered (may hold any bytes)
  bool has_sni = false;                    // the server_name extension is present
  bool status_request = false;             // OCSP stapling requested (extension 5)

  bool has_extension(uint16_t type) const;
  // The highest version offered: supported_versions when present, else legacy_version.
  uint16_t max_version() const;
};

bool is_grease(uint16_t value);

// `message`: one handshake message, its 4-byte header included (type 1).
// nullopt when it is not a ClientHello or a length runs past its end.
std::optional<ClientHelloFields> parse_client_hello_fields(std::span<const uint8_t> message);

}  // namespace tlsgate::fingerprint
