// JA4, the TLS client fingerprint of FoxIO (technical_details/JA4.md in
// github.com/FoxIO-LLC/ja4): "t13d1516h2_8daaf6152771_e5627efa2ab1" =
//   protocol (t: TLS over TCP), version, SNI (d) or not (i), cipher count,
//   extension count, first and last character of the first ALPN value
//   _ sha256 of the sorted cipher list, 12 hex digits
//   _ sha256 of the sorted extension list without SNI and ALPN, then "_"
//     and the signature algorithms as offered, 12 hex digits.
// GREASE values never count. The raw forms (ja4_r, ja4_o, ja4_ro) are what
// the hashes are taken of; they identify a client exactly in a test.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "fingerprint/client_hello_fields.h"

namespace tlsgate::fingerprint {

struct Ja4Options {
  bool original_order = false;  // ja4_o: lists as offered, SNI and ALPN kept
  bool raw = false;             // ja4_r: the lists themselves instead of their hashes
};

std::string ja4(const ClientHelloFields& hello, Ja4Options options = {});

// JA4 of a handshake message (4-byte header included); "" when it is not a
// well-formed ClientHello.
std::string ja4_of_message(std::span<const uint8_t> message);

// The "a" part's two ALPN characters for a first ALPN value (exposed for tests).
std::string ja4_alpn_chars(const std::string& first_alpn);

}  // namespace tlsgate::fingerprint
