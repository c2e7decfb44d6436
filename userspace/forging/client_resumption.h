// Client-facing session resumption (issue 17): TLS 1.3 tickets (resumption
// PSK with (EC)DHE only: OpenSSL refuses psk_ke without
// SSL_OP_ALLOW_NO_DHE_KEX; no 0-RTT) and TLS 1.2 tickets, sealed with the
// process's TicketKeys. Every ticket carries the binding of the connection
// that issued it (the terminator binds SNI, rule, signing CA generation and
// forged identity); a ticket is used only on a connection with the same
// binding, anything else gets a full handshake and a fresh ticket.
// Resumption is off for every SSL of the context until enabled on it.
#pragma once

#include <string>

#include "forging/ticket_keys.h"
#include "tls/openssl_handles.h"

namespace tlsgate::tls {

// Installs the ticket callbacks on the client-facing `ctx`; `keys` must
// outlive it. Ticket lifetime: keys.lifetime().
void install_session_tickets(SSL_CTX* ctx, TicketKeys& keys);

// This SSL (server side, before its handshake) issues one ticket bound to
// `binding` and resumes only sessions bound to the same bytes. `binding` is
// owned by the caller and must outlive the handshake.
void enable_resumption(SSL* ssl, const std::string* binding);

}  // namespace tlsgate::tls
