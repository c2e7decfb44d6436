// The gateway's own CAs, kept out of every upstream chain (DESIGN.md §5 and
// §6): a server whose chain contains a gateway CA — as the anchor, as an
// intermediate, or as a cross-certificate — is refused whatever the trust
// store holds (an administrator may have installed the gateway root
// system-wide, and the default trust store is the system's). Matched by
// certificate (SHA-256 of the DER) and by public key (SHA-256 of the
// SubjectPublicKeyInfo), so a re-issued or cross-signed copy of a gateway
// key is caught too. Immutable once built; shared between threads.
#pragma once

#include <openssl/x509.h>

#include <cstddef>
#include <map>
#include <optional>
#include <string>

namespace tlsgate::tls {

class GatewayCaExclusion {
 public:
  // `label` names the CA in failures ("default.2 root", "untrusted CA").
  void add(X509* cert, const std::string& label);

  // Why `cert` is a gateway CA ("<label>, same certificate" / "<label>, same
  // public key"); nullopt when it is not one.
  std::optional<std::string> match(X509* cert) const;
  // The first certificate of `chain` (leaf first) that is a gateway CA, as
  // match() describes it, with its depth.
  struct Found {
    int depth = 0;
    std::string why;
  };
  std::optional<Found> find_in(STACK_OF(X509) * chain) const;

  size_t certificates() const { return by_certificate_.size(); }
  bool empty() const { return by_certificate_.empty(); }

 private:
  std::map<std::string, std::string, std::less<>> by_certificate_;  // fingerprint -> label
  std::map<std::string, std::string, std::less<>> by_public_key_;   // SPKI hash -> label
};

// SHA-256 (hex, lower case) of the certificate's SubjectPublicKeyInfo.
std::string public_key_sha256(X509* cert);

}  // namespace tlsgate::tls
