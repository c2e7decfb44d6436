#include "forging/client_facing_context.h"

#include <cstring>
#include <stdexcept>

#include "forging/client_resumption.h"
#include "tls/openssl_text.h"
#include "tls/tls_parameters.h"

namespace tlsgate::tls {
namespace {

int alpn_choice_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Selects exactly the protocol the upstream negotiated, and only when the
// client offered it (case 25: both sides always speak the same protocol).
int select_upstream_alpn(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                         const unsigned char* in, unsigned int inlen, void*) {
  const auto* choice = static_cast<const std::string*>(SSL_get_ex_data(ssl, alpn_choice_index()));
  if (choice == nullptr || choice->empty() || choice->size() > 255) return SSL_TLSEXT_ERR_NOACK;
  for (unsigned int pos = 0; pos < inlen;) {
    const unsigned int len = in[pos];
    if (len == 0 || pos + 1 + len > inlen) break;  // malformed offer: select nothing
    if (len == choice->size() && std::memcmp(in + pos + 1, choice->data(), len) == 0) {
      *out = in + pos + 1;  // points into the client's offer, valid for the handshake
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    pos += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

SslCtxPtr make_client_facing_ctx(TicketKeys* tickets) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) throw_openssl_error("cannot create client-facing SSL_CTX");
  apply_tls_parameters(ctx.get());
  SSL_CTX_set_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  // No ticket (apply_tls_parameters set SSL_OP_NO_TICKET) unless a
  // connection enables resumption (client_resumption.h).
  if (SSL_CTX_set_num_tickets(ctx.get(), 0) != 1) throw_openssl_error("cannot disable tickets");
  if (tickets != nullptr) install_session_tickets(ctx.get(), *tickets);
  SSL_CTX_set_alpn_select_cb(ctx.get(), select_upstream_alpn, nullptr);
  alpn_choice_index();  // allocate the ex_data slot before any worker thread runs
  return ctx;
}

void set_forged_identity(SSL* ssl, const ForgedCert& cert) {
  // The stack borrows the certificates; SSL_set1_chain takes its own
  // references and replaces any chain set before (idempotent per SSL).
  X509BorrowedStackPtr chain(sk_X509_new_null());
  for (const X509Ptr& ca : cert.chain) {
    if (!chain || sk_X509_push(chain.get(), ca.get()) <= 0) {
      throw_openssl_error("cannot build the forged chain");
    }
  }
  if (SSL_use_certificate(ssl, cert.leaf.get()) != 1 ||
      SSL_use_PrivateKey(ssl, cert.key.get()) != 1 || SSL_set1_chain(ssl, chain.get()) != 1) {
    throw_openssl_error("cannot install the forged identity");
  }
}

void set_alpn_choice(SSL* ssl, const std::string* alpn) {
  if (SSL_set_ex_data(ssl, alpn_choice_index(), const_cast<std::string*>(alpn)) != 1) {
    throw_openssl_error("cannot set the ALPN choice");
  }
}

}  // namespace tlsgate::tls
