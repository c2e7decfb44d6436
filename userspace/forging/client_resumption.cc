#include "forging/client_resumption.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>

#include "tls/openssl_text.h"

namespace tlsgate::tls {
namespace {

constexpr unsigned char kSessionIdContext[] = "tlsgate-client-facing";

using EvpCipherPtr = std::unique_ptr<EVP_CIPHER, OpenSslDeleter<EVP_CIPHER_free>>;

int keys_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int binding_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

const std::string* binding_of(SSL* ssl) {
  return static_cast<const std::string*>(SSL_get_ex_data(ssl, binding_index()));
}

// Fetched once per process, not on every ticket.
const EVP_CIPHER* ticket_cipher() {
  static const EvpCipherPtr cipher(EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr));
  return cipher.get();
}

bool set_mac_key(EVP_MAC_CTX* mac, std::array<uint8_t, 32>& key) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.data(), key.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  return EVP_MAC_CTX_set_params(mac, params) == 1;
}

// SSL_CTX_set_tlsext_ticket_key_evp_cb: seal with the current generation;
// open with the generation the ticket names (2: renew, it is the previous one).
int seal_or_open(SSL* ssl, unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                 EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) {
  auto* keys = static_cast<TicketKeys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), keys_index()));
  if (keys == nullptr || ticket_cipher() == nullptr) return -1;
  try {
    if (enc == 1) {
      TicketKeys::Key key = keys->current();
      const int iv_len = EVP_CIPHER_get_iv_length(ticket_cipher());
      if (RAND_bytes(iv, iv_len) != 1) return -1;
      std::memcpy(key_name, key.name.data(), key.name.size());
      if (EVP_EncryptInit_ex2(cipher, ticket_cipher(), key.aes.data(), iv, nullptr) != 1 ||
          !set_mac_key(mac, key.hmac)) {
        return -1;
      }
      return 1;
    }
    auto found = keys->find({key_name, 16});
    if (!found) return 0;  // unknown or expired key: a full handshake
    if (EVP_DecryptInit_ex2(cipher, ticket_cipher(), found->key.aes.data(), iv, nullptr) != 1 ||
        !set_mac_key(mac, found->key.hmac)) {
      return -1;
    }
    return found->renew ? 2 : 1;
  } catch (const std::exception&) {
    return -1;
  }
}

// SSL_CTX_set_session_ticket_cb, sealing: the binding goes into the ticket.
int add_binding(SSL* ssl, void*) {
  const std::string* binding = binding_of(ssl);
  if (binding == nullptr) return 1;
  return SSL_SESSION_set1_ticket_appdata(SSL_get0_session(ssl), binding->data(), binding->size());
}

// Opening: a ticket is used only where its binding is this connection's.
SSL_TICKET_RETURN check_binding(SSL* ssl, SSL_SESSION* session, const unsigned char*, size_t,
                                SSL_TICKET_STATUS status, void*) {
  switch (status) {
    case SSL_TICKET_SUCCESS:
    case SSL_TICKET_SUCCESS_RENEW:
      break;
    case SSL_TICKET_FATAL_ERR_MALLOC:
    case SSL_TICKET_FATAL_ERR_OTHER:
      return SSL_TICKET_RETURN_ABORT;
    default:  // no ticket, or one we cannot open
      return SSL_TICKET_RETURN_IGNORE_RENEW;
  }
  const std::string* expected = binding_of(ssl);
  void* data = nullptr;
  size_t len = 0;
  if (expected == nullptr || SSL_SESSION_get0_ticket_appdata(session, &data, &len) != 1 ||
      len != expected->size() || std::memcmp(data, expected->data(), len) != 0) {
    return SSL_TICKET_RETURN_IGNORE_RENEW;
  }
  // TLS 1.3 clients use a ticket once: a resumed connection needs a new one.
  if (status == SSL_TICKET_SUCCESS_RENEW || SSL_version(ssl) == TLS1_3_VERSION) {
    return SSL_TICKET_RETURN_USE_RENEW;
  }
  return SSL_TICKET_RETURN_USE;
}

}  // namespace

void install_session_tickets(SSL_CTX* ctx, TicketKeys& keys) {
  binding_index();  // allocate the ex_data slot before any worker thread runs
  if (SSL_CTX_set_ex_data(ctx, keys_index(), &keys) != 1 || ticket_cipher() == nullptr ||
      SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, seal_or_open) != 1 ||
      SSL_CTX_set_session_ticket_cb(ctx, add_binding, check_binding, nullptr) != 1 ||
      SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1) != 1) {
    throw_openssl_error("cannot install session tickets");
  }
  SSL_CTX_set_timeout(ctx, static_cast<long>(keys.lifetime().count()));
  SSL_CTX_set_max_early_data(ctx, 0);
}

void enable_resumption(SSL* ssl, const std::string* binding) {
  if (SSL_set_ex_data(ssl, binding_index(), const_cast<std::string*>(binding)) != 1 ||
      SSL_set_num_tickets(ssl, 1) != 1) {
    throw_openssl_error("cannot enable resumption");
  }
  SSL_clear_options(ssl, SSL_OP_NO_TICKET);
}

}  // namespace tlsgate::tls
