// The gateway's own CA (DESIGN.md §6): a root and a signing intermediate,
// unique to this installation, created on first start under
// <state_dir>/ca/ with private keys mode 0600. Never used to validate
// upstream servers.
#pragma once

#include <filesystem>
#include <string>

#include "tls/openssl_handles.h"

namespace tlsgate::tls {

class CaStore {
 public:
  // Loads <state_dir>/ca/{root,intermediate}.{pem,key}; creates them when
  // absent (root: ECDSA P-384, 10 years, CA:TRUE pathlen:1, keyCertSign+cRLSign;
  // intermediate: ECDSA P-256, CA:TRUE pathlen:0). Throws std::runtime_error
  // with the path on unreadable/inconsistent files (never overwrites them).
  static CaStore open_or_create(const std::filesystem::path& state_dir);
  // Loads only; throws when the CA has not been created yet.
  static CaStore open_existing(const std::filesystem::path& state_dir);
  // The deliberately untrusted CA of the `untrusted_ca` action (DESIGN.md
  // §5): made like the gateway CA, under <state_dir>/ca/untrusted/, with
  // "tlsgate UNTRUSTED ... (do not install)" subjects. Never exported, never
  // trusted anywhere: clients shown its leaves display their own warning.
  // Needs the gateway CA to exist (throws otherwise); refuses a directory
  // whose CA is not marked untrusted, and open_* refuse one that is.
  static CaStore open_or_create_untrusted(const std::filesystem::path& state_dir);

  X509* root() const { return root_.get(); }
  X509* signer() const { return signer_.get(); }  // signs forged leaves
  EVP_PKEY* signer_key() const { return signer_key_.get(); }
  std::string root_pem() const;
  // Hex SHA-256 of the signer certificate; part of forged-cache keys.
  const std::string& signer_id() const { return signer_id_; }
  bool untrusted() const { return untrusted_; }

 private:
  CaStore() = default;  // only through open_*: never an empty store
  static CaStore open_directory(const std::filesystem::path& ca_dir, bool untrusted);

  X509Ptr root_;
  X509Ptr signer_;
  EvpPkeyPtr signer_key_;
  std::string signer_id_;
  bool untrusted_ = false;
};

}  // namespace tlsgate::tls
