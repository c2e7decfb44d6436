// Small OpenSSL pieces the connection's phases share: SSL objects over a
// ciphertext BIO (ciphertext_bio.h: the SSL never touches a socket), the
// ALPN list we relay, and the thread's last OpenSSL error as text.
#pragma once

#include <string>
#include <vector>

#include "terminator/outbound_queue.h"
#include "tls/openssl_handles.h"

namespace tlsgate::terminator {

// An SSL reading ciphertext lent with LentCiphertext / give_ciphertext and
// writing it to `out` (which must outlive it); null on allocation failure.
tls::SslPtr new_memory_ssl(SSL_CTX* ctx, OutboundQueue& out);

// ALPN wire format of the protocols we relay (h2, http/1.1), in the client's order.
std::vector<uint8_t> relayable_alpn(const std::vector<std::string>& offered);

// The last error queued on this thread, cleared.
std::string last_openssl_error();

}  // namespace tlsgate::terminator
