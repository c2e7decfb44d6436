// NSS key log lines (SSLKEYLOGFILE format) of the TLS legs whose flow a
// rule captures. The callback is installed on the shared SSL_CTX; an SSL
// not marked with capture_keylog() costs one null check per secret.
#pragma once

#include <openssl/ssl.h>

namespace tlsgate::capture {

class CaptureWriter;

// Sends the key log lines of every SSL of `ctx` marked below to `writer`
// (which must outlive `ctx`). False when OpenSSL refuses.
bool install_keylog_tap(SSL_CTX* ctx, CaptureWriter* writer);

// Marks `ssl` (before its handshake) so that its secrets are captured.
bool capture_keylog(SSL* ssl);

}  // namespace tlsgate::capture
