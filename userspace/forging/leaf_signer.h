// What forging needs of a CA: the certificate and key that sign leaves, the
// chain served after a leaf, and an id that keys cached leaves. The CA
// lifecycle (ca/) implements it; forging never depends on how CAs are kept.
#pragma once

#include <string>
#include <vector>

#include "tls/openssl_handles.h"

namespace tlsgate::tls {

class LeafSigner {
 public:
  virtual ~LeafSigner() = default;
  virtual X509* signer() const = 0;
  virtual EVP_PKEY* signer_key() const = 0;
  // Sent after a forged leaf, signer first.
  virtual const std::vector<X509Ptr>& served_chain() const = 0;
  // Changes whenever the served chain changes (forged-cache keys).
  virtual const std::string& cache_id() const = 0;

 protected:
  LeafSigner() = default;
  LeafSigner(const LeafSigner&) = default;
  LeafSigner& operator=(const LeafSigner&) = default;
  LeafSigner(LeafSigner&&) = default;
  LeafSigner& operator=(LeafSigner&&) = default;
};

}  // namespace tlsgate::tls
