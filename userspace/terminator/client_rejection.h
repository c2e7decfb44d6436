// Did the client reject our certificate? Read right where its handshake
// failed: the alert it sent (bad_certificate, unsupported_certificate,
// certificate_unknown, unknown_ca, access_denied), or its connection closed
// after our certificate was sent. Some clients check only once the handshake
// is complete (curl --pinnedpubkey, apps pinning a key): they close, or send
// an alert, before any application data; classify_client_close_after_handshake
// tells those apart. CA rotation uses it to fall back to the previous CA
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

// The client ended a completed handshake without sending application data:
// `ssl_error` when SSL_read failed (an alert), false for close_notify or a
// plain close. The alert it sent if one was received (Kind::alert, whatever
// its description), closed_after_certificate otherwise. Reads the error
// queue without draining it. The caller decides that no data came and that
// the close came right after the handshake.
ClientRejection classify_client_close_after_handshake(bool ssl_error);

// Has our side of this handshake sent its Certificate message?
bool certificate_sent(const SSL* ssl);

}  // namespace tlsgate::terminator
