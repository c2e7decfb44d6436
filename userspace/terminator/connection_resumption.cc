// Connection, client-facing session resumption (issue 17): a ticket we give
// the client is bound to what made its session safe — the requested name,
// the rule that decided the flow, the CA generation that signed for it and
// the forged identity itself. A later connection resumes only when all of
// them are unchanged (a CA rotation, a rule edit or a re-forged identity
// means a full handshake). Resumption only shortens the client side: the
// upstream was validated for this connection before we answer the client.
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "forging/client_resumption.h"
#include "policy/rule_identity.h"
#include "terminator/connection.h"

namespace tlsgate::terminator {

void Connection::offer_resumption(const tls::ForgedCert& identity) {
  std::string bound = "sni:" + sni_ + '\n' + policy::rule_identity(*rules_, verdict_);
  if (signer_.ca) bound += "ca:" + signer_.ca->name + '#' + std::to_string(signer_.ca->generation);
  unsigned char leaf[EVP_MAX_MD_SIZE];
  unsigned int leaf_len = 0;
  if (X509_digest(identity.leaf.get(), EVP_sha256(), leaf, &leaf_len) != 1) return;
  bound += "\nleaf:";
  bound.append(reinterpret_cast<const char*>(leaf), leaf_len);
  // The ticket carries a digest, not the names themselves.
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(bound.data(), bound.size(), digest, &digest_len, EVP_sha256(), nullptr) != 1) {
    return;  // no binding: no ticket, no resumption
  }
  resumption_binding_.assign(reinterpret_cast<const char*>(digest), digest_len);
  tls::enable_resumption(client_ssl_.get(), &resumption_binding_);
}

}  // namespace tlsgate::terminator
