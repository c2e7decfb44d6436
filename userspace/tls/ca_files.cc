#include "tls/ca_files.h"

#include <fcntl.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
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

}  // namespace tlsgate::tls
