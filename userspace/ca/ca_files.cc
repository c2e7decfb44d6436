#include "ca/ca_files.h"

#include <fcntl.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>

#include "common/unique_fd.h"
#include "tls/openssl_text.h"

namespace tlsgate::tls {
namespace {

std::string errno_text(const std::filesystem::path& path, const char* what) {
  return std::string(what) + " " + path.string() + ": " + std::strerror(errno);
}

void write_new_file(const std::filesystem::path& path, mode_t mode,
                    const std::function<bool(BIO*)>& write_pem) {
  // O_EXCL: never overwrite; the mode is set at creation, never widened later.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) throw std::runtime_error(errno_text(path, "cannot create"));
  // Written straight to the file: no copy of key material in our buffers.
  BioPtr bio(BIO_new_fd(fd.get(), BIO_NOCLOSE));
  if (!bio || !write_pem(bio.get()) || BIO_flush(bio.get()) != 1) {
    throw_openssl_error("cannot write " + path.string());
  }
  if (::fsync(fd.get()) != 0) throw std::runtime_error(errno_text(path, "cannot sync"));
  if (::close(fd.release()) != 0) throw std::runtime_error(errno_text(path, "cannot close"));
}

// Opens for reading and returns the fd together with its stat.
UniqueFd open_for_reading(const std::filesystem::path& path, struct stat* st) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw std::runtime_error(errno_text(path, "cannot open"));
  if (::fstat(fd.get(), st) != 0) throw std::runtime_error(errno_text(path, "cannot stat"));
  if (!S_ISREG(st->st_mode)) throw std::runtime_error(path.string() + " is not a regular file");
  return fd;
}

// Encrypted keys are not supported: fail instead of prompting on a terminal.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

}  // namespace

void write_new_certificate(const std::filesystem::path& path, X509* cert) {
  write_new_file(path, 0644, [cert](BIO* bio) { return PEM_write_bio_X509(bio, cert) == 1; });
}

void write_new_certificates(const std::filesystem::path& path, const std::vector<X509Ptr>& certs) {
  write_new_file(path, 0644, [&certs](BIO* bio) {
    for (const X509Ptr& cert : certs) {
      if (PEM_write_bio_X509(bio, cert.get()) != 1) return false;
    }
    return true;
  });
}

void write_new_private_key(const std::filesystem::path& path, EVP_PKEY* key) {
  write_new_file(path, 0600, [key](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  });
}

X509Ptr read_certificate(const std::filesystem::path& path) {
  struct stat st {};
  UniqueFd fd = open_for_reading(path, &st);
  BioPtr bio(BIO_new_fd(fd.get(), BIO_NOCLOSE));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  if (!cert) throw_openssl_error("cannot read a PEM certificate from " + path.string());
  return cert;
}

std::vector<X509Ptr> read_certificates(const std::filesystem::path& path) {
  struct stat st {};
  UniqueFd fd = open_for_reading(path, &st);
  BioPtr bio(BIO_new_fd(fd.get(), BIO_NOCLOSE));
  if (!bio) throw_openssl_error("cannot read " + path.string());
  std::vector<X509Ptr> certs;
  while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)}) {
    certs.push_back(std::move(cert));
  }
  drain_openssl_errors();  // the end of the file reads as an error
  if (certs.empty()) throw std::runtime_error("no PEM certificate in " + path.string());
  return certs;
}

EvpPkeyPtr read_private_key(const std::filesystem::path& path) {
  struct stat st {};
  UniqueFd fd = open_for_reading(path, &st);
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw std::runtime_error("CA key " + path.string() +
                             " is accessible by group or others (mode " + mode +
                             "); it must be mode 0600");
  }
  BioPtr bio(BIO_new_fd(fd.get(), BIO_NOCLOSE));
  EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr)
                     : nullptr);
  if (!key) throw_openssl_error("cannot read an unencrypted PEM private key from " + path.string());
  return key;
}

void sync_directory(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) throw std::runtime_error(errno_text(dir, "cannot sync"));
}

void replace_file(const std::filesystem::path& path, std::string_view content, mode_t mode) {
  std::string tmp = path.string() + ".tmp-XXXXXX";
  UniqueFd fd(::mkstemp(tmp.data()));  // O_EXCL, mode 0600: nobody reads a half file
  if (!fd) throw std::runtime_error(errno_text(path, "cannot create a temporary file for"));
  struct Unlink {
    std::string path;
    ~Unlink() {
      if (!path.empty()) ::unlink(path.c_str());
    }
  } pending{tmp};
  if (::fchmod(fd.get(), mode) != 0) throw std::runtime_error(errno_text(tmp, "cannot chmod"));
  while (!content.empty()) {
    const ssize_t n = ::write(fd.get(), content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(errno_text(tmp, "cannot write"));
    content.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd.get()) != 0) throw std::runtime_error(errno_text(tmp, "cannot sync"));
  if (::close(fd.release()) != 0) throw std::runtime_error(errno_text(tmp, "cannot close"));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    throw std::runtime_error(errno_text(path, "cannot replace"));
  }
  pending.path.clear();
  sync_directory(path.parent_path());
}

std::string read_small_file(const std::filesystem::path& path, size_t max_bytes) {
  struct stat st {};
  UniqueFd fd = open_for_reading(path, &st);
  std::string out;
  char buf[16384];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(errno_text(path, "cannot read"));
    if (n == 0) return out;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      throw std::runtime_error(path.string() + " is larger than " + std::to_string(max_bytes) +
                               " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace tlsgate::tls
