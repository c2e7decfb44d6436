#include "validation/gateway_ca_exclusion.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "tls/openssl_text.h"

namespace tlsgate::tls {

std::string public_key_sha256(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  if (len <= 0) throw_openssl_error("cannot encode a certificate's public key");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  const int ok =
      EVP_Digest(der, static_cast<size_t>(len), digest, &digest_len, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  if (ok != 1) throw_openssl_error("cannot hash a public key");
  return hex_lower(digest, digest_len);
}

void GatewayCaExclusion::add(X509* cert, const std::string& label) {
  by_certificate_.emplace(sha256_fingerprint(cert), label);
  by_public_key_.emplace(public_key_sha256(cert), label);
}

std::optional<std::string> GatewayCaExclusion::match(X509* cert) const {
  if (cert == nullptr || empty()) return std::nullopt;
  if (auto it = by_certificate_.find(sha256_fingerprint(cert)); it != by_certificate_.end()) {
    return it->second + ", same certificate";
  }
  if (auto it = by_public_key_.find(public_key_sha256(cert)); it != by_public_key_.end()) {
    return it->second + ", same public key";
  }
  return std::nullopt;
}

std::optional<GatewayCaExclusion::Found> GatewayCaExclusion::find_in(STACK_OF(X509) * chain) const {
  if (chain == nullptr || empty()) return std::nullopt;
  for (int depth = 0; depth < sk_X509_num(chain); ++depth) {
    if (auto why = match(sk_X509_value(chain, depth))) return Found{depth, std::move(*why)};
  }
  return std::nullopt;
}

}  // namespace tlsgate::tls
