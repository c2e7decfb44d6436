// public_key_for_certificates: the fast form of a key for X509_set_pubkey
// must put exactly the same SubjectPublicKeyInfo in a certificate, and only
// the public half.
#include "tls/x509_fields.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <string>

namespace tlsgate::tls {
namespace {

std::string spki_der(EVP_PKEY* key) {
  X509Ptr cert(X509_new());
  EXPECT_EQ(X509_set_pubkey(cert.get(), key), 1);
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &der);
  EXPECT_GT(len, 0);
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len > 0 ? len : 0));
  OPENSSL_free(der);
  return out;
}

TEST(PublicKeyForCertificates, SameSubjectPublicKeyInfoAsTheKey) {
  for (const char* curve : {"P-256", "P-384"}) {
    EvpPkeyPtr key = generate_ec_key(curve);
    EvpPkeyPtr pub = public_key_for_certificates(key.get());
    ASSERT_TRUE(pub);
    EXPECT_EQ(spki_der(pub.get()), spki_der(key.get())) << curve;
    EXPECT_EQ(EVP_PKEY_eq(pub.get(), key.get()), 1) << curve;
  }
}

TEST(PublicKeyForCertificates, HoldsNoPrivateKey) {
  EvpPkeyPtr key = generate_ec_key("P-256");
  EvpPkeyPtr pub = public_key_for_certificates(key.get());
  unsigned char* der = nullptr;
  EXPECT_LE(i2d_PrivateKey(pub.get(), &der), 0);
  OPENSSL_free(der);
}

TEST(PublicKeyForCertificates, CertificateWithItMatchesThePrivateKey) {
  EvpPkeyPtr key = generate_ec_key("P-256");
  EvpPkeyPtr pub = public_key_for_certificates(key.get());
  X509Ptr cert(X509_new());
  ASSERT_EQ(X509_set_pubkey(cert.get(), pub.get()), 1);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
}

TEST(PublicKeyForCertificates, OtherKeyTypesAreUsedAsTheyAre) {
  EvpPkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  ASSERT_TRUE(rsa);
  EvpPkeyPtr same = public_key_for_certificates(rsa.get());
  EXPECT_EQ(same.get(), rsa.get());
}

}  // namespace
}  // namespace tlsgate::tls
