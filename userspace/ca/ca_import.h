// Bring your own CA (DESIGN.md §6): an enterprise root or intermediate with
// its key, or a cross-certificate in which an enterprise root signs our root.
// Everything is checked before anything is written; messages never contain
// key material.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ca/ca_store.h"
#include "tls/openssl_handles.h"

namespace tlsgate::tls {

// PEM texts as read from the administrator's files.
struct CaImportInput {
  std::string cert_pem;    // exactly one certificate: the enterprise root or intermediate
  std::string key_pem;     // its private key (PKCS#8 or traditional PEM; may be encrypted)
  std::string passphrase;  // for an encrypted key; "" when it is not encrypted
  std::string chain_pem;   // for an intermediate: its issuers, up to and including the root
};

enum class CaOrigin { generated, imported_root, imported_intermediate };
std::string_view to_string(CaOrigin o);

struct ImportedCa {
  CaMaterial material;
  CaOrigin origin = CaOrigin::imported_root;
  std::vector<std::string> warnings;  // accepted, but the administrator should know
};

// Checks the certificate is a CA valid now (basicConstraints CA:TRUE,
// keyCertSign when keyUsage is present, serverAuth allowed by any EKU), the
// key is its key (EC, or RSA of at least 2048 bits), and then:
//  - self-signed (a root): its path length allows one intermediate; a
//    signing intermediate is issued under it, and the root's key is not
//    kept (material.root_key is null);
//  - otherwise (an intermediate): `chain_pem` must lead from it to a
//    self-signed root, which becomes the root clients install; the
//    certificates in between are served with every leaf.
// Throws std::invalid_argument saying what is wrong.
ImportedCa import_ca(const CaImportInput& input);

// One CA certificate, valid now, not self-signed. Throws std::invalid_argument.
X509Ptr parse_cross_certificate(std::string_view pem);
// Does `cross` certify `root`'s name and key?
bool cross_signs(X509* cross, X509* root);

}  // namespace tlsgate::tls
