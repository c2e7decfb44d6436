// Protocol parameters both tlsgate TLS sides share (SECURITY-BATTERY.md cases
// 20 and 24): TLS 1.2–1.3, ECDHE + AEAD, no compression, no renegotiation,
// no resumption, security level 2. Internal to tls/.
#pragma once

#include <openssl/ssl.h>

namespace tlsgate::tls {

// Throws std::runtime_error when OpenSSL rejects a setting.
void apply_tls_parameters(SSL_CTX* ctx);

}  // namespace tlsgate::tls
