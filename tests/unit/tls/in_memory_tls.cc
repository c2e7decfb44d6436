#include "in_memory_tls.h"

#include <stdexcept>

namespace tlsgate::tls::testing {

InMemoryTls::InMemoryTls(SSL_CTX* client_ctx, SSL_CTX* server_ctx)
    : client_(SSL_new(client_ctx)), server_(SSL_new(server_ctx)) {
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  if (!client_ || !server_ || BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) != 1) {
    throw std::runtime_error("cannot build in-memory TLS pair");
  }
  SSL_set_bio(client_.get(), client_bio, client_bio);  // one reference for both
  SSL_set_bio(server_.get(), server_bio, server_bio);
  SSL_set_connect_state(client_.get());
  SSL_set_accept_state(server_.get());
}

bool InMemoryTls::step(SSL* ssl, bool& done, int& reason, bool is_client) {
  if (done) return true;
  // A real event loop clears the queue before each call too: the other
  // side's errors (same thread here) must not be read as this side's.
  ERR_clear_error();
  const int ret = SSL_do_handshake(ssl);
  if (ret == 1) {
    done = true;
    return true;
  }
  const int error = SSL_get_error(ssl, ret);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return true;
  reason = ERR_GET_REASON(ERR_peek_error());
  if (is_client) client_failure_ = classify_handshake_error(ssl, ret);
  ERR_clear_error();
  return false;
}

bool InMemoryTls::handshake() {
  // A TLS 1.3 handshake needs 3 flights; bound the loop for broken peers.
  for (int round = 0; round < 20 && !(client_done_ && server_done_); ++round) {
    if (!client_failed_) client_failed_ = !step(client_.get(), client_done_, client_reason_, true);
    if (!server_failed_) server_failed_ = !step(server_.get(), server_done_, server_reason_, false);
    if (client_failed_ && server_failed_) break;
  }
  return client_done_ && server_done_;
}

bool InMemoryTls::renegotiate() {
  ERR_clear_error();
  if (SSL_renegotiate(client_.get()) != 1) return false;
  unsigned char byte = 0;
  for (int round = 0; round < 20; ++round) {
    ERR_clear_error();
    int ret = SSL_do_handshake(client_.get());
    if (ret == 1 && SSL_renegotiate_pending(client_.get()) == 0) return true;
    if (ret <= 0) {
      int error = SSL_get_error(client_.get(), ret);
      if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
        client_reason_ = ERR_GET_REASON(ERR_peek_error());
        ERR_clear_error();
        return false;
      }
    }
    // The server processes handshake records while reading application data.
    ERR_clear_error();
    int read = SSL_read(server_.get(), &byte, 1);
    if (read <= 0) {
      int error = SSL_get_error(server_.get(), read);
      if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
        server_reason_ = ERR_GET_REASON(ERR_peek_error());
      }
    }
  }
  return false;
}

SslCtxPtr make_test_server_ctx(X509* leaf, EVP_PKEY* key, const std::vector<X509*>& chain) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) throw std::runtime_error("server ctx");
  SSL_CTX_set_security_level(ctx.get(), 0);
  if (SSL_CTX_use_certificate(ctx.get(), leaf) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.get(), key) != 1) {
    throw std::runtime_error("server identity");
  }
  for (X509* cert : chain) {
    if (SSL_CTX_add1_chain_cert(ctx.get(), cert) != 1) throw std::runtime_error("server chain");
  }
  return ctx;
}

namespace {

int send_staple(SSL* ssl, void* arg) {
  const auto* der = static_cast<const std::string*>(arg);
  // OpenSSL takes ownership of the buffer.
  auto* copy = static_cast<unsigned char*>(OPENSSL_memdup(der->data(), der->size()));
  if (copy == nullptr) return SSL_TLSEXT_ERR_ALERT_FATAL;
  SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(der->size()));
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

void staple_ocsp(SSL_CTX* server_ctx, const std::string* ocsp_der) {
  SSL_CTX_set_tlsext_status_cb(server_ctx, send_staple);
  SSL_CTX_set_tlsext_status_arg(server_ctx, const_cast<std::string*>(ocsp_der));
}

}  // namespace tlsgate::tls::testing
