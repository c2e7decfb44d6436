// Forges the leaf the client sees (DESIGN.md §6, SECURITY-BATTERY.md case 18):
// CA:FALSE, EKU serverAuth, keyUsage digitalSignature, SANs copied only from
// the validated upstream leaf, validity within the upstream's and at most
// kMaxValidity, SHA-256 signature by the CA's signer, random 128-bit serial,
// one pre-generated ECDSA P-256 key per CA generation.
#pragma once

#include <chrono>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "forging/leaf_signer.h"
#include "tls/openssl_handles.h"

namespace tlsgate::tls {

struct ForgedCert {
  X509Ptr leaf;
  EvpPkeyPtr key;              // shared leaf key (up-ref'd)
  std::vector<X509Ptr> chain;  // served after the leaf: LeafSigner::served_chain()
  // A cache replaces this leaf from then on (forging again would give a
  // later notAfter); max() when forging again would give the same validity.
  std::chrono::system_clock::time_point renew_after = std::chrono::system_clock::time_point::max();
};

class LeafForger {
 public:
  static constexpr std::chrono::hours kMaxValidity{24 * 7};
  // How far notBefore may reach back: clients with a slow clock still accept.
  static constexpr std::chrono::hours kBackdate{1};
  // Validity of leaves forged for a requested name (forge_for_name): from
  // now - kBackdate to now + kNameValidity; caches renew them after half.
  static constexpr std::chrono::hours kNameValidity{24};

  // Generates the leaf key and the extensions every leaf shares. `ca` must
  // outlive the forger. Thread-safe after construction.
  explicit LeafForger(const LeafSigner& ca);

  // `upstream_leaf` must already be validated. Copies only its DNS and IP
  // SANs (subject CN = the first of them; nothing else of the upstream leaf);
  // notBefore = max(upstream notBefore, now - kBackdate), notAfter =
  // min(upstream notAfter, now + kMaxValidity). An upstream outside that
  // window (only possible under `allow`) yields a leaf valid for one instant
  // of the upstream's window, so the client sees the same defect.
  // Throws std::runtime_error when the upstream leaf has no DNS/IP SAN to
  // copy (nothing safe to forge; never a CN fallback).
  //
  // `only_ip`: the flow had no SNI and the upstream was validated against
  // this address (SECURITY-BATTERY case 34): the leaf carries exactly this IP
  // SAN and none of the upstream's DNS names. Throws when the upstream leaf
  // has no such IP SAN (then it was not validated for it).
  std::shared_ptr<const ForgedCert> forge(
      X509* upstream_leaf, const std::optional<IpAddress>& only_ip = std::nullopt) const;

  // A leaf for exactly `name` (a DNS name, or an IP literal → IP SAN), built
  // from nothing of any upstream certificate; valid from now - kBackdate to
  // now + kNameValidity; otherwise the same fields as forge(). For:
  //  - serving a block or warning page over a completed client handshake
  //    (trusted CA: the client then sees only our page);
  //  - the `untrusted_ca` action (with the untrusted CA's forger);
  //  - `allow` and continued warnings: nothing is copied from an invalid
  //    upstream certificate.
  // `name` is lower-cased; one trailing dot is dropped. Throws
  // std::invalid_argument for an empty name, a wildcard, or characters a
  // host name cannot have.
  std::shared_ptr<const ForgedCert> forge_for_name(std::string_view name) const;

  const LeafSigner& ca() const { return ca_; }

 private:
  std::shared_ptr<ForgedCert> sign_leaf(GENERAL_NAMES* sans, const std::string& common_name,
                                        time_t not_before, time_t not_after) const;

  const LeafSigner& ca_;
  EvpPkeyPtr leaf_key_;
  EvpPkeyPtr leaf_public_;  // leaf_key_'s public half for X509_set_pubkey (fast path)
  // Identical in every leaf of this forger: built once, copied per leaf.
  X509ExtensionPtr basic_constraints_;
  X509ExtensionPtr key_usage_;
  X509ExtensionPtr ext_key_usage_;
  X509ExtensionPtr subject_key_id_;
  X509ExtensionPtr authority_key_id_;
};

}  // namespace tlsgate::tls
