// One loaded CA (DESIGN.md §6): the root clients install, the intermediate
// that signs forged leaves, and what is served between them. Private keys
// live in the CA's directory, mode 0600. Never used to validate upstream
// servers.
//
// Directory layout (the same for the first CA, <state_dir>/ca/, and for the
// generations the registry adds, <state_dir>/ca/generations/<name>.<n>/):
//   root.pem          the root clients install (published)
//   root.key          its key; absent for an imported enterprise root, whose
//                     key is used once to issue intermediate.pem, never kept
//   intermediate.pem  the signer of forged leaves, and intermediate.key
//   chain.pem         optional: certificates between the signer and the root
//                     (an imported enterprise intermediate's issuers)
//   cross.pem         optional: cross-certificates of the root (another root
//                     signing ours), served last so that clients trusting
//                     only that other root accept our leaves
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "forging/leaf_signer.h"
#include "tls/openssl_handles.h"

namespace tlsgate::tls {

// What a new CA directory holds, before it is written.
struct CaMaterial {
  X509Ptr root;
  EvpPkeyPtr root_key;  // null: not kept (an imported root)
  X509Ptr signer;
  EvpPkeyPtr signer_key;
  std::vector<X509Ptr> chain;  // between signer and root, signer's issuer first
};

class CaStore final : public LeafSigner {
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

  // A CA directory in the layout above; root.key must exist when
  // `root_key_kept`. Throws like open_existing.
  static CaStore open_directory(const std::filesystem::path& dir, bool root_key_kept);
  // Fresh root and intermediate, as open_or_create makes them.
  static CaMaterial generate();
  // Writes `material` as the CA directory `dir`, which must not exist (or
  // be empty): all files or none (a temporary directory renamed in one
  // step). Returns false when `dir` appeared meanwhile.
  static bool create_directory(const std::filesystem::path& dir, const CaMaterial& material);
  // Adds `cross` to <dir>/cross.pem (replaced in one step).
  static void add_cross_certificate(const std::filesystem::path& dir, X509* cross);
  // Every certificate a CA directory holds (root, signer, chain, cross), no
  // key read and nothing checked: what the upstream verifier must never
  // accept, also for a retired generation. Throws naming an unreadable file.
  static std::vector<X509Ptr> certificates_in(const std::filesystem::path& dir);

  X509* root() const { return root_.get(); }
  X509* signer() const override { return signer_.get(); }  // signs forged leaves
  EVP_PKEY* signer_key() const override { return signer_key_.get(); }
  // Sent after a forged leaf: the signer, the certificates above it up to
  // (not including) the root, then the root's cross-certificates.
  const std::vector<X509Ptr>& served_chain() const override { return served_chain_; }
  const std::vector<X509Ptr>& cross_certificates() const { return cross_; }
  // The root and every certificate served with a leaf.
  std::vector<X509*> certificates() const;
  std::string root_pem() const;
  // Hex SHA-256 of the signer certificate.
  const std::string& signer_id() const { return signer_id_; }
  // signer_id, and a digest of the rest of the served chain when there is
  // more: forged-cache keys, so a new cross-certificate never meets a leaf
  // cached with the chain before it.
  const std::string& cache_id() const override { return cache_id_; }
  bool untrusted() const { return untrusted_; }

 private:
  CaStore() = default;  // only through open_*: never an empty store
  static CaStore load(const std::filesystem::path& ca_dir, bool untrusted, bool root_key_kept);

  X509Ptr root_;
  X509Ptr signer_;
  EvpPkeyPtr signer_key_;
  std::vector<X509Ptr> served_chain_;
  std::vector<X509Ptr> cross_;
  std::string signer_id_;
  std::string cache_id_;
  bool untrusted_ = false;
};

// PEM text of one certificate.
std::string pem_of(X509* cert);

}  // namespace tlsgate::tls
