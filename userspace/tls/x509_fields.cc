#include "tls/x509_fields.h"

#include <openssl/ec.h>
#include <openssl/rand.h>

#include <array>
#include <memory>
#include <stdexcept>

#include "tls/openssl_text.h"

namespace tlsgate::tls {

EvpPkeyPtr generate_ec_key(const char* curve) {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
  if (!key) throw_openssl_error(std::string("cannot generate EC key on ") + curve);
  return key;
}

// The legacy EC_KEY API is deprecated in 3.0, and the reason this is fast.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
EvpPkeyPtr public_key_for_certificates(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return share(key);
  struct EcKeyFree {
    void operator()(EC_KEY* k) const { EC_KEY_free(k); }
  };
  using EcKeyPtr = std::unique_ptr<EC_KEY, EcKeyFree>;
  EcKeyPtr full(EVP_PKEY_get1_EC_KEY(key));
  EcKeyPtr pub(EC_KEY_new());
  EvpPkeyPtr out(EVP_PKEY_new());
  if (!full || !pub || !out || EC_KEY_set_group(pub.get(), EC_KEY_get0_group(full.get())) != 1 ||
      EC_KEY_set_public_key(pub.get(), EC_KEY_get0_public_key(full.get())) != 1 ||
      EVP_PKEY_assign_EC_KEY(out.get(), pub.get()) != 1) {
    throw_openssl_error("cannot copy the public key");
  }
  pub.release();  // owned by `out`
  return out;
}
#pragma GCC diagnostic pop

void set_random_serial(X509* cert) {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw_openssl_error("cannot draw a random serial");
  }
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x3f) | 0x40);
  BignumPtr bn(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  if (!bn) throw_openssl_error("cannot build serial");
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial || X509_set_serialNumber(cert, serial.get()) != 1) {
    throw_openssl_error("cannot set serial");
  }
}

void set_validity(X509* cert, time_t not_before, time_t not_after) {
  if (ASN1_TIME_set(X509_getm_notBefore(cert), not_before) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert), not_after) == nullptr) {
    throw_openssl_error("cannot set validity");
  }
}

time_t to_time_t(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    throw_openssl_error("malformed certificate time");
  }
  return timegm(&tm);
}

Asn1OctetStringPtr public_key_id(X509* cert) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  Asn1OctetStringPtr id(ASN1_OCTET_STRING_new());
  if (!id || X509_pubkey_digest(cert, EVP_sha1(), md.data(), &len) != 1 ||
      ASN1_OCTET_STRING_set(id.get(), md.data(), static_cast<int>(len)) != 1) {
    throw_openssl_error("cannot compute key identifier");
  }
  return id;
}

X509ExtensionPtr make_extension(int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, nullptr, nullptr, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext) throw_openssl_error(std::string("cannot build extension ") + OBJ_nid2sn(nid));
  return ext;
}

X509ExtensionPtr make_subject_key_id(const ASN1_OCTET_STRING* key_id) {
  X509ExtensionPtr ext(
      X509V3_EXT_i2d(NID_subject_key_identifier, 0, const_cast<ASN1_OCTET_STRING*>(key_id)));
  if (!ext) throw_openssl_error("cannot build subjectKeyIdentifier");
  return ext;
}

X509ExtensionPtr make_authority_key_id(const ASN1_OCTET_STRING* issuer_key_id) {
  AuthorityKeyidPtr akid(AUTHORITY_KEYID_new());
  if (!akid) throw_openssl_error("cannot build authorityKeyIdentifier");
  akid->keyid = ASN1_OCTET_STRING_dup(issuer_key_id);
  X509ExtensionPtr ext;
  if (akid->keyid != nullptr) {
    ext.reset(X509V3_EXT_i2d(NID_authority_key_identifier, 0, akid.get()));
  }
  if (!ext) throw_openssl_error("cannot build authorityKeyIdentifier");
  return ext;
}

void add_extension(X509* cert, const X509_EXTENSION* ext) {
  // X509_add_ext stores a copy.
  if (X509_add_ext(cert, const_cast<X509_EXTENSION*>(ext), -1) != 1) {
    throw_openssl_error("cannot add extension");
  }
}

void sign_certificate(X509* cert, EVP_PKEY* issuer_key, const EVP_MD* md) {
  if (X509_sign(cert, issuer_key, md) <= 0) throw_openssl_error("cannot sign certificate");
}

}  // namespace tlsgate::tls
