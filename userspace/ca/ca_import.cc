#include "ca/ca_import.h"

#include <openssl/pem.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "ca/ca_issuer.h"
#include "tls/openssl_text.h"
#include "tls/x509_fields.h"

namespace tlsgate::tls {
namespace {

constexpr size_t kMaxChain = 8;

std::vector<X509Ptr> parse_certificates(std::string_view pem, const char* what) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw_openssl_error("cannot read the " + std::string(what));
  std::vector<X509Ptr> certs;
  while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    certs.push_back(std::move(cert));
  }
  drain_openssl_errors();
  if (certs.empty()) {
    throw std::invalid_argument(std::string("no PEM certificate in the ") + what);
  }
  return certs;
}

struct Passphrase {
  const std::string* text;
  bool asked = false;
};

int passphrase_callback(char* buf, int size, int, void* arg) {
  auto* p = static_cast<Passphrase*>(arg);
  p->asked = true;
  if (p->text->empty() || p->text->size() > static_cast<size_t>(size)) return -1;
  std::memcpy(buf, p->text->data(), p->text->size());
  return static_cast<int>(p->text->size());
}

EvpPkeyPtr parse_key(const CaImportInput& in) {
  BioPtr bio(BIO_new_mem_buf(in.key_pem.data(), static_cast<int>(in.key_pem.size())));
  Passphrase passphrase{&in.passphrase};
  EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_callback, &passphrase)
                     : nullptr);
  // OpenSSL's reasons may quote the input: never pass them on.
  drain_openssl_errors();
  if (key) return key;
  if (passphrase.asked && in.passphrase.empty()) {
    throw std::invalid_argument("the private key is encrypted: give its passphrase file");
  }
  if (passphrase.asked) {
    throw std::invalid_argument("cannot decrypt the private key: wrong passphrase?");
  }
  throw std::invalid_argument("no PEM private key in the key file");
}

std::string describe(X509* cert) {
  return "\"" + rfc2253(X509_get_subject_name(cert)) + "\"";
}

void check_key(X509* cert, EVP_PKEY* key) {
  const int id = EVP_PKEY_get_base_id(key);
  if (id != EVP_PKEY_EC && id != EVP_PKEY_RSA) {
    throw std::invalid_argument("the key is neither EC nor RSA; tlsgate signs with ECDSA or RSA");
  }
  if (id == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) < 2048) {
    throw std::invalid_argument("the RSA key has " + std::to_string(EVP_PKEY_get_bits(key)) +
                                " bits; at least 2048 are needed");
  }
  if (X509_check_private_key(cert, key) != 1) {
    drain_openssl_errors();
    throw std::invalid_argument("the private key does not belong to " + describe(cert));
  }
}

void check_valid_now(X509* cert, const char* what) {
  const time_t now = std::time(nullptr);
  if (to_time_t(X509_get0_notBefore(cert)) > now) {
    throw std::invalid_argument(std::string(what) + " " + describe(cert) + " is not valid yet");
  }
  if (to_time_t(X509_get0_notAfter(cert)) <= now) {
    throw std::invalid_argument(std::string(what) + " " + describe(cert) + " has expired");
  }
}

// A certificate that may issue certificates: CA:TRUE, keyCertSign.
void check_is_ca(X509* cert, const char* what) {
  const uint32_t flags = X509_get_extension_flags(cert);
  if ((flags & EXFLAG_INVALID) != 0) {
    throw std::invalid_argument(std::string(what) + " " + describe(cert) +
                                " has invalid or duplicate extensions");
  }
  if ((flags & EXFLAG_BCONS) == 0 || (flags & EXFLAG_CA) == 0) {
    throw std::invalid_argument(std::string(what) + " " + describe(cert) +
                                " is not a CA certificate (no basicConstraints CA:TRUE)");
  }
  if ((flags & EXFLAG_KUSAGE) != 0 && (X509_get_key_usage(cert) & KU_KEY_CERT_SIGN) == 0) {
    throw std::invalid_argument(std::string(what) + " " + describe(cert) +
                                " may not sign certificates (keyUsage lacks keyCertSign)");
  }
}

void check_allows_server_auth(X509* cert) {
  const uint32_t flags = X509_get_extension_flags(cert);
  if ((flags & EXFLAG_XKUSAGE) != 0 &&
      (X509_get_extended_key_usage(cert) & (XKU_SSL_SERVER | XKU_ANYEKU)) == 0) {
    throw std::invalid_argument(describe(cert) +
                                " restricts extendedKeyUsage without serverAuth: clients would "
                                "refuse every forged leaf under it");
  }
}

bool self_signed(X509* cert) {
  const bool yes = X509_self_signed(cert, 1) == 1;
  drain_openssl_errors();
  return yes;
}

bool issued_by(X509* issuer, X509* subject) {
  const bool ok = X509_check_issued(issuer, subject) == X509_V_OK &&
                  X509_verify(subject, X509_get0_pubkey(issuer)) == 1;
  drain_openssl_errors();
  return ok;
}

// From `signer` up to a self-signed root through `pool`: the certificates
// above the signer, root last.
std::vector<X509Ptr> path_to_root(X509* signer, std::vector<X509Ptr> pool) {
  std::vector<X509Ptr> path;
  X509* below = signer;
  while (true) {
    auto it = std::find_if(pool.begin(), pool.end(),
                           [&](const X509Ptr& c) { return issued_by(c.get(), below); });
    if (it == pool.end()) {
      throw std::invalid_argument("the chain has no issuer of " + describe(below) +
                                  ": give the certificates up to and including the root");
    }
    path.push_back(std::move(*it));
    pool.erase(it);
    below = path.back().get();
    if (self_signed(below)) return path;
  }
}

// OpenSSL's own path validation of signer → chain → root (constraints,
// path lengths, dates, signatures).
void verify_path(X509* signer, const std::vector<X509Ptr>& above) {
  X509StorePtr store(X509_STORE_new());
  X509StackPtr untrusted(sk_X509_new_null());
  if (!store || !untrusted || X509_STORE_add_cert(store.get(), above.back().get()) != 1) {
    throw_openssl_error("cannot build a verification store");
  }
  for (size_t i = 0; i + 1 < above.size(); ++i) {
    X509Ptr copy = share(above[i].get());
    if (sk_X509_push(untrusted.get(), copy.get()) <= 0) throw_openssl_error("cannot build chain");
    copy.release();
  }
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), signer, untrusted.get()) != 1) {
    throw_openssl_error("cannot verify the chain");
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    drain_openssl_errors();
    throw std::invalid_argument(std::string("the chain does not verify: ") +
                                X509_verify_cert_error_string(err));
  }
}

}  // namespace

std::string_view to_string(CaOrigin o) {
  switch (o) {
    case CaOrigin::generated:
      return "generated";
    case CaOrigin::imported_root:
      return "imported_root";
    case CaOrigin::imported_intermediate:
      return "imported_intermediate";
  }
  return "generated";
}

ImportedCa import_ca(const CaImportInput& input) {
  std::vector<X509Ptr> certs = parse_certificates(input.cert_pem, "certificate file");
  if (certs.size() != 1) {
    throw std::invalid_argument("the certificate file holds " + std::to_string(certs.size()) +
                                " certificates; give one, and its issuers as the chain");
  }
  X509Ptr cert = std::move(certs.front());
  EvpPkeyPtr key = parse_key(input);
  check_key(cert.get(), key.get());
  check_is_ca(cert.get(), "the certificate");
  check_valid_now(cert.get(), "the certificate");
  check_allows_server_auth(cert.get());
  if (is_untrusted_name(cert.get())) {
    throw std::invalid_argument(describe(cert.get()) + " is a tlsgate untrusted CA");
  }

  ImportedCa out;
  if (X509_get_ext_by_NID(cert.get(), NID_name_constraints, -1) >= 0) {
    out.warnings.push_back(describe(cert.get()) +
                           " has name constraints: leaves for names outside them will be refused "
                           "by clients");
  }
  if (self_signed(cert.get())) {
    if (!input.chain_pem.empty()) {
      throw std::invalid_argument(describe(cert.get()) + " is a root; it takes no chain");
    }
    const long pathlen = X509_get_pathlen(cert.get());
    if (pathlen == 0) {
      throw std::invalid_argument(describe(cert.get()) +
                                  " has pathlen:0 and cannot have the signing intermediate "
                                  "tlsgate issues under it; import an intermediate instead");
    }
    IssuedCa signer = issue_intermediate(cert.get(), key.get(), false);
    out.origin = CaOrigin::imported_root;
    out.material.root = std::move(cert);
    out.material.signer = std::move(signer.cert);
    out.material.signer_key = std::move(signer.key);
    return out;
  }

  if (input.chain_pem.empty()) {
    throw std::invalid_argument(describe(cert.get()) +
                                " is an intermediate: give its chain up to and including the root");
  }
  std::vector<X509Ptr> pool = parse_certificates(input.chain_pem, "chain file");
  if (pool.size() > kMaxChain) {
    throw std::invalid_argument("the chain holds more than " + std::to_string(kMaxChain) +
                                " certificates");
  }
  std::vector<X509Ptr> above = path_to_root(cert.get(), std::move(pool));
  for (const X509Ptr& c : above) check_is_ca(c.get(), "the chain certificate");
  for (const X509Ptr& c : above) check_allows_server_auth(c.get());
  verify_path(cert.get(), above);
  out.origin = CaOrigin::imported_intermediate;
  out.material.root = std::move(above.back());
  above.pop_back();
  out.material.chain = std::move(above);
  out.material.signer = std::move(cert);
  out.material.signer_key = std::move(key);
  return out;
}

X509Ptr parse_cross_certificate(std::string_view pem) {
  std::vector<X509Ptr> certs = parse_certificates(pem, "cross-certificate file");
  if (certs.size() != 1) {
    throw std::invalid_argument("the cross-certificate file holds " + std::to_string(certs.size()) +
                                " certificates; give one");
  }
  X509Ptr cross = std::move(certs.front());
  check_is_ca(cross.get(), "the cross-certificate");
  check_valid_now(cross.get(), "the cross-certificate");
  check_allows_server_auth(cross.get());
  if (self_signed(cross.get())) {
    throw std::invalid_argument(describe(cross.get()) +
                                " is self-signed: a cross-certificate is our root signed by "
                                "another CA");
  }
  return cross;
}

bool cross_signs(X509* cross, X509* root) {
  return X509_NAME_cmp(X509_get_subject_name(cross), X509_get_subject_name(root)) == 0 &&
         EVP_PKEY_eq(X509_get0_pubkey(cross), X509_get0_pubkey(root)) == 1;
}

}  // namespace tlsgate::tls
