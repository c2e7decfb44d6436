#include "tls/openssl_text.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <array>
#include <stdexcept>

#include "tls/openssl_handles.h"

namespace tlsgate::tls {

std::string drain_openssl_errors() {
  std::string out;
  std::array<char, 256> buf{};
  while (unsigned long code = ERR_get_error()) {
    ERR_error_string_n(code, buf.data(), buf.size());
    if (!out.empty()) out += "; ";
    out += buf.data();
  }
  return out;
}

void throw_openssl_error(std::string_view what) {
  std::string message(what);
  if (std::string errors = drain_openssl_errors(); !errors.empty()) {
    message += ": ";
    message += errors;
  }
  throw std::runtime_error(message);
}

std::string hex_lower(const unsigned char* data, size_t len) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (size_t i = 0; i < len; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0x0f];
  }
  return out;
}

std::string rfc2253(const X509_NAME* name) {
  if (name == nullptr) return {};
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    drain_openssl_errors();
    return {};
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string sha256_fingerprint(const X509* cert) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md.data(), &len) != 1) {
    throw_openssl_error("cannot hash certificate");
  }
  return hex_lower(md.data(), len);
}

}  // namespace tlsgate::tls
