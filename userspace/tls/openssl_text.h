// Text forms of OpenSSL values shared by the tls module: error reasons for
// exception messages, names, fingerprints. Internal to tls/.
#pragma once

#include <openssl/x509.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace tlsgate::tls {

// Drains this thread's OpenSSL error queue into one line ("" when empty), so
// a failure is reported once and never leaks into the next connection's
// error checks.
std::string drain_openssl_errors();

// `what` plus the drained OpenSSL errors, as std::runtime_error.
[[noreturn]] void throw_openssl_error(std::string_view what);

std::string hex_lower(const unsigned char* data, size_t len);

// RFC 2253 form ("CN=a.example,O=Example"); "" for a null name.
std::string rfc2253(const X509_NAME* name);

// SHA-256 of the DER certificate, hex lower case.
std::string sha256_fingerprint(const X509* cert);

}  // namespace tlsgate::tls
