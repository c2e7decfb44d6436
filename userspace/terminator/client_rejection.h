// Did the client reject our certificate? Read right where its handshake
// failed: the alert it sent (bad_certificate, unsupported_certificate,
// certificate_unknown, unknown_ca), or its connection closed after our
// certificate was sent. CA rotation uses it to fall back to the previous CA
// (tls/ca_registry.h); client_reject events and bypass suggestions build on
// the same answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tls/openssl_handles.h"

namespace tlsgate::terminator {

struct ClientRejection {
  enum class Kind : uint8_t { alert, closed_after_certificate };
  Kind kind = Kind::alert;
  uint8_t alert = 0;  // the TLS alert description, for Kind::alert

  // "alert:unknown_ca", "alert:bad_certificate", "closed_after_certificate".
  std::string to_string() const;
};

// `ssl`: our server side of the client handshake; `ssl_ret`: what
// SSL_do_handshake returned (ignored when `eof`); `eof`: the client closed
// its connection during the handshake. Reads this thread's OpenSSL error
// queue without draining it, so call it before anything reads the queue.
// nullopt: the handshake failed for another reason (or was never about our
// certificate: e.g. a close before it was sent).
std::optional<ClientRejection> classify_client_rejection(SSL* ssl, int ssl_ret, bool eof);

// Has our side of this handshake sent its Certificate message?
bool certificate_sent(const SSL* ssl);

}  // namespace tlsgate::terminator
