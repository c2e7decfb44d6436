// Issues the CA certificates tlsgate makes itself: a root, and a signing
// intermediate under our root or under an imported enterprise root. Internal
// to tls/.
#pragma once

#include "tls/openssl_handles.h"

namespace tlsgate::tls {

struct IssuedCa {
  X509Ptr cert;
  EvpPkeyPtr key;
};

// Self-signed root: ECDSA P-384, 10 years, CA:TRUE pathlen:1,
// keyCertSign+cRLSign, SHA-384. `untrusted`: the names of the deliberately
// untrusted CA ("tlsgate UNTRUSTED ... (do not install)").
IssuedCa issue_root(bool untrusted);

// Signing intermediate under `issuer`: ECDSA P-256, 5 years but never past
// the issuer's notAfter, CA:TRUE pathlen:0. The authorityKeyIdentifier is the
// issuer's own subjectKeyIdentifier when it has one (enterprise roots may
// compute it differently from us), so every client links the two.
IssuedCa issue_intermediate(X509* issuer, EVP_PKEY* issuer_key, bool untrusted);

// Does this certificate carry the untrusted CA's name?
bool is_untrusted_name(X509* cert);

}  // namespace tlsgate::tls
