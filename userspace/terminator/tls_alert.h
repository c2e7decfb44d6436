// Plaintext TLS alerts, sent to a client before any TLS session exists
// (refused by rule, malformed hello, upstream failure before our handshake).
#pragma once

#include <array>
#include <cstdint>

namespace tlsgate::terminator::tls_alert {

inline constexpr uint8_t kHandshakeFailure = 40;
inline constexpr uint8_t kAccessDenied = 49;
inline constexpr uint8_t kDecodeError = 50;
inline constexpr uint8_t kInternalError = 80;

// A fatal alert record: content type 21, TLS 1.2 record version, length 2.
inline std::array<uint8_t, 7> fatal(uint8_t description) {
  return {21, 3, 3, 0, 2, 2, description};
}

}  // namespace tlsgate::terminator::tls_alert
