#include "tls/ca_store.h"

#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "tls/ca_files.h"
#include "tls/openssl_text.h"
#include "tls/x509_fields.h"

namespace tlsgate::tls {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRootCert = "root.pem";
constexpr const char* kRootKey = "root.key";
constexpr const char* kSignerCert = "intermediate.pem";
constexpr const char* kSignerKey = "intermediate.key";
constexpr std::array<const char*, 4> kCaFiles = {kRootCert, kRootKey, kSignerCert, kSignerKey};

constexpr time_t kDay = 24 * 3600;
constexpr time_t kClockSkew = 3600;  // clients slightly behind must accept a fresh CA

struct IssuedCa {
  X509Ptr cert;
  EvpPkeyPtr key;
};

constexpr const char* kUntrustedSubdir = "untrusted";
constexpr std::string_view kUntrustedMarker = "tlsgate UNTRUSTED ";

X509NamePtr ca_name(const char* kind, const ASN1_OCTET_STRING* key_id, bool untrusted) {
  // The key id in the CN tells installations apart in a client's trust list;
  // the untrusted CA says what it is wherever a client shows its name.
  std::string cn = std::string(untrusted ? kUntrustedMarker : "tlsgate ") + kind + " CA " +
                   hex_lower(ASN1_STRING_get0_data(key_id), 4) +
                   (untrusted ? " (do not install)" : "");
  X509NamePtr name(X509_NAME_new());
  auto add = [&](int nid, const std::string& value) {
    if (!name || X509_NAME_add_entry_by_NID(name.get(), nid, MBSTRING_UTF8,
                                            reinterpret_cast<const unsigned char*>(value.data()),
                                            static_cast<int>(value.size()), -1, 0) != 1) {
      throw_openssl_error("cannot build CA name");
    }
  };
  add(NID_organizationName, untrusted ? "tlsgate (untrusted)" : "tlsgate");
  add(NID_commonName, cn);
  return name;
}

// issuer == nullptr: self-signed root.
IssuedCa issue_ca(const char* kind, const char* curve, time_t lifetime, const char* constraints,
                  const IssuedCa* issuer, bool untrusted) {
  IssuedCa ca{X509Ptr(X509_new()), generate_ec_key(curve)};
  X509* cert = ca.cert.get();
  if (!cert || X509_set_version(cert, X509_VERSION_3) != 1 ||
      X509_set_pubkey(cert, ca.key.get()) != 1) {
    throw_openssl_error("cannot build CA certificate");
  }
  set_random_serial(cert);
  time_t now = std::time(nullptr);
  set_validity(cert, now - kClockSkew, now + lifetime);

  Asn1OctetStringPtr key_id = public_key_id(cert);
  X509NamePtr subject = ca_name(kind, key_id.get(), untrusted);
  if (X509_set_subject_name(cert, subject.get()) != 1 ||
      X509_set_issuer_name(
          cert, issuer ? X509_get_subject_name(issuer->cert.get()) : subject.get()) != 1) {
    throw_openssl_error("cannot set CA names");
  }
  add_extension(cert, make_extension(NID_basic_constraints, constraints).get());
  add_extension(cert, make_extension(NID_key_usage, "critical,keyCertSign,cRLSign").get());
  add_extension(cert, make_subject_key_id(key_id.get()).get());
  if (issuer) {
    Asn1OctetStringPtr issuer_key_id = public_key_id(issuer->cert.get());
    add_extension(cert, make_authority_key_id(issuer_key_id.get()).get());
  }
  sign_certificate(cert, issuer ? issuer->key.get() : ca.key.get(), EVP_sha384());
  return ca;
}

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

// Whole CA or nothing: the four files are written into a private temporary
// directory next to `ca_dir` that is renamed to it in one step, so a crash
// never leaves a half CA. rename(2) replaces only an absent or empty
// directory, never files. Returns false when another process created the CA
// first.
bool create_ca(const fs::path& ca_dir, bool untrusted) {
  const fs::path parent = ca_dir.parent_path();
  fs::create_directories(parent);
  std::string tmpl = (parent / (ca_dir.filename().string() + ".tmp-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {  // mode 0700
    throw std::runtime_error("cannot create a directory in " + parent.string() + ": " +
                             std::strerror(errno));
  }
  PendingDirectory pending{fs::path(tmpl)};

  IssuedCa root =
      issue_ca("Root", "P-384", 3650 * kDay, "critical,CA:TRUE,pathlen:1", nullptr, untrusted);
  IssuedCa signer = issue_ca("Intermediate", "P-256", 1826 * kDay, "critical,CA:TRUE,pathlen:0",
                             &root, untrusted);
  write_new_private_key(pending.path() / kRootKey, root.key.get());
  write_new_certificate(pending.path() / kRootCert, root.cert.get());
  write_new_private_key(pending.path() / kSignerKey, signer.key.get());
  write_new_certificate(pending.path() / kSignerCert, signer.cert.get());
  sync_directory(pending.path());

  if (::rename(pending.path().c_str(), ca_dir.c_str()) != 0) {
    if (errno == ENOTEMPTY || errno == EEXIST) return false;
    throw std::runtime_error("cannot create " + ca_dir.string() + ": " + std::strerror(errno));
  }
  pending.committed();
  sync_directory(parent);
  return true;
}

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

bool is_untrusted_name(X509* cert) {
  const std::string subject = rfc2253(X509_get_subject_name(cert));
  return subject.find(kUntrustedMarker) != std::string::npos;
}

}  // namespace

CaStore CaStore::open_or_create(const fs::path& state_dir) {
  fs::path ca_dir = state_dir / "ca";
  if (is_absent_or_empty_directory(ca_dir)) create_ca(ca_dir, false);
  return open_existing(state_dir);
}

CaStore CaStore::open_existing(const fs::path& state_dir) {
  return open_directory(state_dir / "ca", false);
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
  if (is_absent_or_empty_directory(untrusted_dir)) create_ca(untrusted_dir, true);
  return open_directory(untrusted_dir, true);
}

CaStore CaStore::open_directory(const fs::path& ca_dir, bool untrusted) {
  std::error_code ec;
  if (!fs::is_directory(ca_dir, ec)) {
    throw std::runtime_error("no CA in " + ca_dir.string() + " (run `tlsgatectl ca init`)");
  }
  check_directory_is_private(ca_dir);
  std::vector<std::string> missing;
  for (const char* name : kCaFiles) {
    if (!fs::exists(fs::symlink_status(ca_dir / name, ec))) missing.emplace_back(name);
  }
  if (missing.size() == kCaFiles.size()) {
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
  {
    // The root key is only checked, never kept in memory.
    EvpPkeyPtr root_key = read_private_key(ca_dir / kRootKey);
    require_match(root.get(), root_key.get(), ca_dir / kRootCert, ca_dir / kRootKey);
  }
  require_match(signer.get(), signer_key.get(), ca_dir / kSignerCert, ca_dir / kSignerKey);
  if (X509_check_ca(root.get()) == 0 || X509_check_ca(signer.get()) == 0) {
    throw std::runtime_error("CA certificates in " + ca_dir.string() + " are not CA certificates");
  }
  if (X509_check_issued(root.get(), signer.get()) != X509_V_OK ||
      X509_verify(signer.get(), X509_get0_pubkey(root.get())) != 1) {
    drain_openssl_errors();
    throw std::runtime_error((ca_dir / kSignerCert).string() + " is not issued by " +
                             (ca_dir / kRootCert).string());
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
  store.root_ = std::move(root);
  store.signer_ = std::move(signer);
  store.signer_key_ = std::move(signer_key);
  return store;
}

std::string CaStore::root_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), root_.get()) != 1) {
    throw_openssl_error("cannot encode the root certificate");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace tlsgate::tls
