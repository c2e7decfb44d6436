// The SSL_CTX that answers LAN clients (SECURITY-BATTERY.md case 24): built
// once; TLS 1.2–1.3, ECDHE + AEAD, no renegotiation, no compression, session
// tickets only where a connection enables them (client_resumption.h). Each connection gets its
// forged identity and the ALPN the upstream selected (case 25: never a mismatch between the two
// sides).
#pragma once

#include <string>
#include <string_view>

#include "forging/leaf_forger.h"
#include "forging/ticket_keys.h"
#include "tls/openssl_handles.h"

namespace tlsgate::tls {

// `tickets`: what seals session tickets (client_resumption.h; must outlive
// the context); null: no resumption at all.
SslCtxPtr make_client_facing_ctx(TicketKeys* tickets = nullptr);

// Installs leaf, key and chain on this SSL (server side), replacing any
// identity set before. Call before the handshake or from the ClientHello
// callback; `cert` may be released afterwards (the SSL holds references).
void set_forged_identity(SSL* ssl, const ForgedCert& cert);

// The protocol to select from the client's ALPN offer: the upstream's choice.
// Empty: select nothing (the upstream negotiated no ALPN). `alpn` is owned by
// the caller and must outlive the handshake.
void set_alpn_choice(SSL* ssl, const std::string* alpn);

}  // namespace tlsgate::tls
