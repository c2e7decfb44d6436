// Shared by the CA registry tests: PEM texts of test certificates and keys,
// an enterprise PKI to import, and verification as a client that trusts
// only given roots.
#pragma once

#include <string>
#include <vector>

#include "forging/leaf_forger.h"
#include "test_pki.h"
#include "tls/openssl_handles.h"

namespace tlsgate::tls::testing {

std::string cert_pem(X509* cert);
// Unencrypted PKCS#8, or encrypted with AES-256-CBC under `passphrase`.
std::string key_pem(EVP_PKEY* key, const std::string& passphrase = "");

// What a client trusting only `roots` makes of `leaf` served with `chain`:
// X509_V_OK or the verify error.
int verify_as_client(X509* leaf, const std::vector<X509Ptr>& chain,
                     const std::vector<X509*>& roots);

// A forged leaf for host.lab.test from `forger`, verified by a client that
// trusts only `roots`.
int verify_forged(const LeafForger& forger, const std::vector<X509*>& roots);

// An enterprise root (RSA-2048 or EC) with its key, as a customer brings it.
struct EnterpriseRoot {
  explicit EnterpriseRoot(const std::string& name, bool rsa = false, std::string pathlen = "");
  KeyedCert root;
};

// A cross-certificate: `issuer` certifying `root`'s name and key, as an
// enterprise PKI team would issue it.
X509Ptr cross_certify(X509* root, const KeyedCert& issuer);

}  // namespace tlsgate::tls::testing
