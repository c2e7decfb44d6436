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
  EvpPkeyPtr key;              // shared leaf key (up-ref'd)
  std::vector<X509Ptr> chain;  // served after the leaf: the signer (intermediate)
};

class LeafForger {
 public:
  static constexpr std::chrono::hours kMaxValidity{24 * 7};
  // How far notBefore may reach back: clients with a slow clock still accept.
  static constexpr std::chrono::hours kBackdate{1};

  // Generates the leaf key and the extensions every leaf shares. `ca` must
  // outlive the forger. Thread-safe after construction.
  explicit LeafForger(const CaStore& ca);

  // `upstream_leaf` must already be validated. Copies only its DNS and IP
  // SANs (subject CN = the first of them; nothing else of the upstream leaf);
  // notBefore = max(upstream notBefore, now - kBackdate), notAfter =
  // min(upstream notAfter, now + kMaxValidity). An upstream outside that
  // window (only possible under `allow`) yields a leaf valid for one instant
  // of the upstream's window, so the client sees the same defect.
  // Throws std::runtime_error when the upstream leaf has no DNS/IP SAN to
  // copy (nothing safe to forge; never a CN fallback).
  std::shared_ptr<const ForgedCert> forge(X509* upstream_leaf) const;

  const CaStore& ca() const { return ca_; }

 private:
  const CaStore& ca_;
  EvpPkeyPtr leaf_key_;
  // Identical in every leaf of this forger: built once, copied per leaf.
  X509ExtensionPtr basic_constraints_;
  X509ExtensionPtr key_usage_;
  X509ExtensionPtr ext_key_usage_;
  X509ExtensionPtr subject_key_id_;
  X509ExtensionPtr authority_key_id_;
};

}  // namespace tlsgate::tls
