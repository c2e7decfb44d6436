#include "ca/ca_store.h"

#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "ca/ca_files.h"
#include "ca/ca_issuer.h"
#include "tls/openssl_text.h"

namespace tlsgate::tls {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRootCert = "root.pem";
constexpr const char* kRootKey = "root.key";
constexpr const char* kSignerCert = "intermediate.pem";
constexpr const char* kSignerKey = "intermediate.key";
constexpr const char* kChain = "chain.pem";
constexpr const char* kCross = "cross.pem";
constexpr const char* kUntrustedSubdir = "untrusted";

// Removes a half-written CA directory unless it was committed.
class PendingDirectory {
 public:
  explicit PendingDirectory(fs::path path) : path_(std::move(path)) {}
  ~PendingDirectory() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  PendingDirectory(const PendingDirectory&) = delete;
  PendingDirectory& operator=(const PendingDirectory&) = delete;
  const fs::path& path() const { return path_; }
  void committed() { path_.clear(); }

 private:
  fs::path path_;
};

bool is_absent_or_empty_directory(const fs::path& dir) {
  std::error_code ec;
  fs::file_status st = fs::symlink_status(dir, ec);
  if (st.type() == fs::file_type::not_found) return true;
  if (st.type() != fs::file_type::directory) {
    throw std::runtime_error(dir.string() + " exists and is not a directory");
  }
  return fs::is_empty(dir);
}

void check_directory_is_private(const fs::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    throw std::runtime_error("cannot stat " + dir.string() + ": " + std::strerror(errno));
  }
  // Others able to write here could swap the key files.
  if ((st.st_mode & 022) != 0) {
    throw std::runtime_error("CA directory " + dir.string() +
                             " is writable by group or others; it must be mode 0700");
  }
}

void require_match(X509* cert, EVP_PKEY* key, const fs::path& cert_path, const fs::path& key_path) {
  if (X509_check_private_key(cert, key) != 1) {
    drain_openssl_errors();
    throw std::runtime_error(key_path.string() + " does not match " + cert_path.string());
  }
}

bool issued_by(X509* issuer, X509* subject) {
  const bool ok = X509_check_issued(issuer, subject) == X509_V_OK &&
                  X509_verify(subject, X509_get0_pubkey(issuer)) == 1;
  drain_openssl_errors();
  return ok;
}

bool file_exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(p, ec));
}

CaMaterial generate_material(bool untrusted) {
  IssuedCa root = issue_root(untrusted);
  IssuedCa signer = issue_intermediate(root.cert.get(), root.key.get(), untrusted);
  return CaMaterial{
      std::move(root.cert), std::move(root.key), std::move(signer.cert), std::move(signer.key), {}};
}

// Whole CA or nothing: the files are written into a private temporary
// directory next to `ca_dir` that is renamed to it in one step, so a crash
// never leaves a half CA. rename(2) replaces only an absent or empty
// directory, never files.
bool write_directory(const fs::path& ca_dir, const CaMaterial& m) {
  const fs::path parent = ca_dir.parent_path();
  fs::create_directories(parent);
  std::string tmpl = (parent / (ca_dir.filename().string() + ".tmp-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {  // mode 0700
    throw std::runtime_error("cannot create a directory in " + parent.string() + ": " +
                             std::strerror(errno));
  }
  PendingDirectory pending{fs::path(tmpl)};
  if (m.root_key) write_new_private_key(pending.path() / kRootKey, m.root_key.get());
  write_new_certificate(pending.path() / kRootCert, m.root.get());
  write_new_private_key(pending.path() / kSignerKey, m.signer_key.get());
  write_new_certificate(pending.path() / kSignerCert, m.signer.get());
  if (!m.chain.empty()) write_new_certificates(pending.path() / kChain, m.chain);
  sync_directory(pending.path());

  if (::rename(pending.path().c_str(), ca_dir.c_str()) != 0) {
    if (errno == ENOTEMPTY || errno == EEXIST) return false;
    throw std::runtime_error("cannot create " + ca_dir.string() + ": " + std::strerror(errno));
  }
  pending.committed();
  sync_directory(parent);
  return true;
}

}  // namespace

CaStore CaStore::open_or_create(const fs::path& state_dir) {
  fs::path ca_dir = state_dir / "ca";
  if (is_absent_or_empty_directory(ca_dir)) write_directory(ca_dir, generate_material(false));
  return open_existing(state_dir);
}

CaStore CaStore::open_existing(const fs::path& state_dir) {
  return load(state_dir / "ca", false, true);
}

CaStore CaStore::open_or_create_untrusted(const fs::path& state_dir) {
  const fs::path ca_dir = state_dir / "ca";
  std::error_code ec;
  // Inside ca/: created after the gateway CA, whose creation needs an empty ca/.
  if (!fs::is_directory(ca_dir, ec) || is_absent_or_empty_directory(ca_dir)) {
    throw std::runtime_error("no CA in " + ca_dir.string() +
                             ": create the gateway CA before the untrusted CA");
  }
  const fs::path untrusted_dir = ca_dir / kUntrustedSubdir;
  if (is_absent_or_empty_directory(untrusted_dir)) {
    write_directory(untrusted_dir, generate_material(true));
  }
  return load(untrusted_dir, true, true);
}

CaStore CaStore::open_directory(const fs::path& dir, bool root_key_kept) {
  return load(dir, false, root_key_kept);
}

CaMaterial CaStore::generate() {
  return generate_material(false);
}

bool CaStore::create_directory(const fs::path& dir, const CaMaterial& material) {
  if (!is_absent_or_empty_directory(dir)) return false;
  return write_directory(dir, material);
}

void CaStore::add_cross_certificate(const fs::path& dir, X509* cross) {
  std::string bundle;
  if (file_exists(dir / kCross)) {
    for (const X509Ptr& cert : read_certificates(dir / kCross)) bundle += pem_of(cert.get());
  }
  bundle += pem_of(cross);
  replace_file(dir / kCross, bundle, 0644);
}

std::vector<X509Ptr> CaStore::certificates_in(const fs::path& dir) {
  std::vector<X509Ptr> certs;
  for (const char* name : {kRootCert, kSignerCert, kChain, kCross}) {
    if (!file_exists(dir / name)) continue;
    for (X509Ptr& cert : read_certificates(dir / name)) certs.push_back(std::move(cert));
  }
  return certs;
}

std::vector<X509*> CaStore::certificates() const {
  std::vector<X509*> certs{root_.get()};
  for (const X509Ptr& cert : served_chain_) certs.push_back(cert.get());
  return certs;
}

CaStore CaStore::load(const fs::path& ca_dir, bool untrusted, bool root_key_kept) {
  std::error_code ec;
  if (!fs::is_directory(ca_dir, ec)) {
    throw std::runtime_error("no CA in " + ca_dir.string() + " (run `tlsgatectl ca init`)");
  }
  check_directory_is_private(ca_dir);
  std::vector<const char*> required = {kRootCert, kSignerCert, kSignerKey};
  if (root_key_kept) required.insert(required.begin() + 1, kRootKey);
  std::vector<std::string> missing;
  for (const char* name : required) {
    if (!file_exists(ca_dir / name)) missing.emplace_back(name);
  }
  if (missing.size() == required.size()) {
    throw std::runtime_error("no CA in " + ca_dir.string() + " (run `tlsgatectl ca init`)");
  }
  if (!missing.empty()) {
    std::string list;
    for (const std::string& name : missing) list += (list.empty() ? "" : ", ") + name;
    throw std::runtime_error("incomplete CA in " + ca_dir.string() + ": missing " + list +
                             " (existing files are never overwritten)");
  }

  X509Ptr root = read_certificate(ca_dir / kRootCert);
  X509Ptr signer = read_certificate(ca_dir / kSignerCert);
  EvpPkeyPtr signer_key = read_private_key(ca_dir / kSignerKey);
  if (root_key_kept) {
    // The root key is only checked, never kept in memory.
    EvpPkeyPtr root_key = read_private_key(ca_dir / kRootKey);
    require_match(root.get(), root_key.get(), ca_dir / kRootCert, ca_dir / kRootKey);
  }
  require_match(signer.get(), signer_key.get(), ca_dir / kSignerCert, ca_dir / kSignerKey);
  if (X509_check_ca(root.get()) == 0 || X509_check_ca(signer.get()) == 0) {
    throw std::runtime_error("CA certificates in " + ca_dir.string() + " are not CA certificates");
  }
  std::vector<X509Ptr> chain;
  if (!untrusted && file_exists(ca_dir / kChain)) chain = read_certificates(ca_dir / kChain);
  X509* below = signer.get();
  for (const X509Ptr& issuer : chain) {
    if (!issued_by(issuer.get(), below)) {
      throw std::runtime_error((ca_dir / kChain).string() + ": \"" +
                               rfc2253(X509_get_subject_name(below)) +
                               "\" is not issued by the next certificate");
    }
    below = issuer.get();
  }
  if (!issued_by(root.get(), below)) {
    throw std::runtime_error((ca_dir / (chain.empty() ? kSignerCert : kChain)).string() +
                             " is not issued by " + (ca_dir / kRootCert).string());
  }
  std::vector<X509Ptr> cross;
  if (!untrusted && file_exists(ca_dir / kCross)) cross = read_certificates(ca_dir / kCross);
  for (const X509Ptr& c : cross) {
    if (X509_NAME_cmp(X509_get_subject_name(c.get()), X509_get_subject_name(root.get())) != 0 ||
        EVP_PKEY_eq(X509_get0_pubkey(c.get()), X509_get0_pubkey(root.get())) != 1) {
      throw std::runtime_error((ca_dir / kCross).string() +
                               " holds a certificate that does not cross-sign " +
                               (ca_dir / kRootCert).string());
    }
  }

  // A swapped directory must never make "untrusted" leaves trusted, nor the
  // gateway CA an untrusted one.
  if (is_untrusted_name(root.get()) != untrusted || is_untrusted_name(signer.get()) != untrusted) {
    throw std::runtime_error("CA in " + ca_dir.string() + (untrusted ? " is not" : " is") +
                             " the untrusted CA; it does not belong in this directory");
  }

  CaStore store;
  store.untrusted_ = untrusted;
  store.signer_id_ = sha256_fingerprint(signer.get());
  store.cache_id_ = store.signer_id_;
  store.served_chain_.push_back(share(signer.get()));
  for (X509Ptr& c : chain) store.served_chain_.push_back(std::move(c));
  for (const X509Ptr& c : cross) store.served_chain_.push_back(share(c.get()));
  if (store.served_chain_.size() > 1) {
    for (size_t i = 1; i < store.served_chain_.size(); ++i) {
      store.cache_id_ += "+" + sha256_fingerprint(store.served_chain_[i].get()).substr(0, 16);
    }
  }
  store.cross_ = std::move(cross);
  store.root_ = std::move(root);
  store.signer_ = std::move(signer);
  store.signer_key_ = std::move(signer_key);
  return store;
}

std::string CaStore::root_pem() const {
  return pem_of(root_.get());
}

std::string pem_of(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    throw_openssl_error("cannot encode a certificate");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace tlsgate::tls
