// A client SSL and a server SSL joined by a BIO pair: real TLS handshakes
// without sockets, driven step by step until both finish or one fails.
#pragma once

#include <openssl/err.h>

#include <optional>
#include <string>
#include <vector>

#include "tls/openssl_handles.h"
#include "validation/upstream_verifier.h"

namespace tlsgate::tls::testing {

class InMemoryTls {
 public:
  InMemoryTls(SSL_CTX* client_ctx, SSL_CTX* server_ctx);

  SSL* client() const { return client_.get(); }
  SSL* server() const { return server_.get(); }

  // Pumps both sides; true when both completed the handshake.
  bool handshake();

  bool client_done() const { return client_done_; }
  bool server_done() const { return server_done_; }
  // The client's failure, classified right when SSL_do_handshake failed.
  const std::optional<VerifyFailure>& client_failure() const { return client_failure_; }
  // First OpenSSL reason code of each side's failure (0 = none).
  int client_reason() const { return client_reason_; }
  int server_reason() const { return server_reason_; }

  // Client-initiated renegotiation (TLS 1.2); true when it completed.
  bool renegotiate();

 private:
  // One step of one side; returns false once that side failed.
  bool step(SSL* ssl, bool& done, int& reason, bool is_client);

  SslPtr client_;
  SslPtr server_;
  bool client_done_ = false;
  bool server_done_ = false;
  bool client_failed_ = false;
  bool server_failed_ = false;
  std::optional<VerifyFailure> client_failure_;
  int client_reason_ = 0;
  int server_reason_ = 0;
};

// Builds a server context presenting `leaf` + `chain` with `key`. Security
// level 0 so deliberately weak certificates and old protocols can be served.
SslCtxPtr make_test_server_ctx(X509* leaf, EVP_PKEY* key, const std::vector<X509*>& chain);

// Makes servers from `server_ctx` staple `*ocsp_der` (DER OCSPResponse) when
// the client asks; `ocsp_der` must outlive the handshakes.
void staple_ocsp(SSL_CTX* server_ctx, const std::string* ocsp_der);

}  // namespace tlsgate::tls::testing
