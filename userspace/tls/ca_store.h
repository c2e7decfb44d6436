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

  X509* root() const { return root_.get(); }
  X509* signer() const { return signer_.get(); }  // signs forged leaves
  EVP_PKEY* signer_key() const { return signer_key_.get(); }
  std::string root_pem() const;
  // Hex SHA-256 of the signer certificate; part of forged-cache keys.
  const std::string& signer_id() const { return signer_id_; }

 private:
  CaStore() = default;  // only through open_*: never an empty store

  X509Ptr root_;
  X509Ptr signer_;
  EvpPkeyPtr signer_key_;
  std::string signer_id_;
};

}  // namespace tlsgate::tls
