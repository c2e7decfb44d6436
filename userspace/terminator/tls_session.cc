#include "terminator/tls_session.h"

#include <openssl/err.h>

#include "terminator/ciphertext_bio.h"

namespace tlsgate::terminator {

tls::SslPtr new_memory_ssl(SSL_CTX* ctx, OutboundQueue& out) {
  tls::SslPtr ssl(SSL_new(ctx));
  if (!ssl) return ssl;
  BIO* bio = new_ciphertext_bio(out);
  if (bio == nullptr) return nullptr;
  SSL_set_bio(ssl.get(), bio, bio);  // one reference, owned by the SSL from here
  // Idle connections hold no record buffers.
  SSL_set_mode(ssl.get(), SSL_MODE_RELEASE_BUFFERS);
  return ssl;
}

std::vector<uint8_t> relayable_alpn(const std::vector<std::string>& offered) {
  std::vector<uint8_t> wire;
  for (const auto& p : offered) {
    if (p != "h2" && p != "http/1.1") continue;
    wire.push_back(static_cast<uint8_t>(p.size()));
    wire.insert(wire.end(), p.begin(), p.end());
  }
  return wire;
}

std::string last_openssl_error() {
  unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return "no OpenSSL error queued";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace tlsgate::terminator
