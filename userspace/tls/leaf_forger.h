// Forges the leaf the client sees (DESIGN.md §6, SECURITY-BATTERY.md case 18):
// CA:FALSE, EKU serverAuth, keyUsage digitalSignature, SANs copied only from
// the validated upstream leaf, validity within the upstream's and at most
// kMaxValidity, SHA-256 signature by the CA's signer, random 128-bit serial,
// one pre-generated ECDSA P-256 key per CA generation.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "tls/ca_store.h"
#include "tls/openssl_handles.h"

namespace tlsgate::tls {

struct ForgedCert {
  X509Ptr leaf;
  EvpPkeyPtr key;               // shared leaf key (up-ref'd)
  std::vector<X509Ptr> chain;   // served after the leaf: the signer (intermediate)
};

class LeafForger {
 public:
  static constexpr std::chrono::hours kMaxValidity{24 * 7};

  explicit LeafForger(const CaStore& ca);  // generates the leaf key

  // `upstream_leaf` must already be validated. Throws std::runtime_error when
  // the upstream leaf has no DNS/IP SAN to copy (nothing safe to forge).
  std::shared_ptr<const ForgedCert> forge(X509* upstream_leaf) const;

  const CaStore& ca() const { return ca_; }

 private:
  const CaStore& ca_;
  EvpPkeyPtr leaf_key_;
};

}  // namespace tlsgate::tls
