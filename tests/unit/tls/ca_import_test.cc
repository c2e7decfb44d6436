// Bring your own CA: enterprise roots and intermediates with their keys
// (plain or encrypted), what is refused, and cross-certificates.
#include "ca/ca_import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ca_test_support.h"
#include "test_pki.h"

namespace tlsgate::tls {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace testing;

std::string import_error(const CaImportInput& in) {
  try {
    import_ca(in);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(CaImport, EnterpriseRootGetsATlsgateIntermediateAndItsKeyIsNotKept) {
  EnterpriseRoot ent("Example Corp Root", /*rsa=*/true);
  ImportedCa imported =
      import_ca({cert_pem(ent.root.cert.get()), key_pem(ent.root.key.get()), "", ""});
  EXPECT_EQ(imported.origin, CaOrigin::imported_root);
  EXPECT_EQ(X509_cmp(imported.material.root.get(), ent.root.cert.get()), 0);
  EXPECT_EQ(imported.material.root_key, nullptr);
  EXPECT_TRUE(imported.material.chain.empty());
  X509* signer = imported.material.signer.get();
  EXPECT_THAT(subject_of(signer), HasSubstr("tlsgate Intermediate CA"));
  EXPECT_EQ(X509_check_issued(ent.root.cert.get(), signer), X509_V_OK);
  EXPECT_EQ(X509_verify(signer, X509_get0_pubkey(ent.root.cert.get())), 1);
  EXPECT_LE(not_after_of(signer), not_after_of(ent.root.cert.get()));
  EXPECT_EQ(X509_check_private_key(signer, imported.material.signer_key.get()), 1);
}

TEST(CaImport, EncryptedKeyNeedsItsPassphrase) {
  EnterpriseRoot ent("Example Corp Root");
  CaImportInput in{cert_pem(ent.root.cert.get()), key_pem(ent.root.key.get(), "s3cret"), "", ""};
  EXPECT_THAT(import_error(in), HasSubstr("encrypted"));
  in.passphrase = "wrong";
  EXPECT_THAT(import_error(in), HasSubstr("wrong passphrase"));
  in.passphrase = "s3cret";
  EXPECT_EQ(import_error(in), "");
}

TEST(CaImport, MessagesNeverQuoteTheKey) {
  EnterpriseRoot ent("Example Corp Root");
  EnterpriseRoot other("Other Root");
  const std::string key = key_pem(other.root.key.get());
  const std::string error = import_error({cert_pem(ent.root.cert.get()), key, "", ""});
  EXPECT_THAT(error, HasSubstr("does not belong"));
  EXPECT_THAT(error, Not(HasSubstr("PRIVATE KEY")));
  const std::string garbage =
      import_error({cert_pem(ent.root.cert.get()), "-----BEGIN PRIVATE KEY-----\nAAAA\n", "", ""});
  EXPECT_THAT(garbage, HasSubstr("no PEM private key"));
  EXPECT_THAT(garbage, Not(HasSubstr("AAAA")));
}

TEST(CaImport, RefusesWhatCannotSign) {
  TestPki pki;
  X509Ptr leaf = pki.leaf(server_spec("DNS:a.lab.test"));
  EXPECT_THAT(import_error({cert_pem(leaf.get()), key_pem(pki.leaf_key.get()), "", ""}),
              HasSubstr("not a CA certificate"));

  EnterpriseRoot no_intermediate("Tight Root", false, "0");
  EXPECT_THAT(import_error({cert_pem(no_intermediate.root.cert.get()),
                            key_pem(no_intermediate.root.key.get()), "", ""}),
              HasSubstr("pathlen:0"));

  EvpPkeyPtr key = make_ec_key();
  CertSpec expired = ca_spec("Old Root");
  expired.not_before = -std::chrono::hours(48);
  expired.not_after = -std::chrono::hours(24);
  X509Ptr old = issue(expired, key.get(), nullptr, nullptr);
  EXPECT_THAT(import_error({cert_pem(old.get()), key_pem(key.get()), "", ""}),
              HasSubstr("has expired"));

  CertSpec client_only = ca_spec("Client Auth Root");
  client_only.ext_key_usage = "clientAuth";
  X509Ptr restricted = issue(client_only, key.get(), nullptr, nullptr);
  EXPECT_THAT(import_error({cert_pem(restricted.get()), key_pem(key.get()), "", ""}),
              HasSubstr("serverAuth"));

  EvpPkeyPtr small = make_rsa_key(1024);
  X509Ptr weak = issue(ca_spec("Weak Root"), small.get(), nullptr, nullptr);
  EXPECT_THAT(import_error({cert_pem(weak.get()), key_pem(small.get()), "", ""}),
              HasSubstr("at least 2048"));

  EnterpriseRoot ent("Example Corp Root");
  const std::string two = cert_pem(ent.root.cert.get()) + cert_pem(ent.root.cert.get());
  EXPECT_THAT(import_error({two, key_pem(ent.root.key.get()), "", ""}),
              HasSubstr("2 certificates"));
}

TEST(CaImport, IntermediateNeedsItsChainUpToTheRoot) {
  TestPki pki("Corp");
  CaImportInput in{cert_pem(pki.intermediate.cert.get()), key_pem(pki.intermediate.key.get()), "",
                   ""};
  EXPECT_THAT(import_error(in), HasSubstr("give its chain"));
  TestPki stranger("Stranger");
  in.chain_pem = cert_pem(stranger.root.cert.get());
  EXPECT_THAT(import_error(in), HasSubstr("no issuer"));
  in.chain_pem = cert_pem(pki.root.cert.get());
  ImportedCa imported = import_ca(in);
  EXPECT_EQ(imported.origin, CaOrigin::imported_intermediate);
  EXPECT_EQ(X509_cmp(imported.material.root.get(), pki.root.cert.get()), 0);
  EXPECT_EQ(X509_cmp(imported.material.signer.get(), pki.intermediate.cert.get()), 0);
  EXPECT_TRUE(imported.material.chain.empty());
}

TEST(CaImport, IntermediateTwoBelowTheRootServesTheOneBetween) {
  TestPki pki("Corp");
  EvpPkeyPtr key = make_ec_key();
  X509Ptr issuing = issue(ca_spec("Corp Issuing CA"), key.get(), pki.intermediate.cert.get(),
                          pki.intermediate.key.get());
  // Any order in the chain file.
  ImportedCa imported =
      import_ca({cert_pem(issuing.get()), key_pem(key.get()), "",
                 cert_pem(pki.root.cert.get()) + cert_pem(pki.intermediate.cert.get())});
  ASSERT_EQ(imported.material.chain.size(), 1u);
  EXPECT_EQ(X509_cmp(imported.material.chain[0].get(), pki.intermediate.cert.get()), 0);
  EXPECT_EQ(X509_cmp(imported.material.root.get(), pki.root.cert.get()), 0);
}

TEST(CaImport, CrossCertificateMustBeACaAndNotSelfSigned) {
  EnterpriseRoot ent("Example Corp Root");
  EXPECT_THROW(parse_cross_certificate(cert_pem(ent.root.cert.get())), std::invalid_argument);
  EXPECT_THROW(parse_cross_certificate("not a certificate"), std::invalid_argument);
  TestPki pki;
  X509Ptr leaf = pki.leaf(server_spec("DNS:a.lab.test"));
  EXPECT_THROW(parse_cross_certificate(cert_pem(leaf.get())), std::invalid_argument);
  EXPECT_NO_THROW(parse_cross_certificate(cert_pem(pki.intermediate.cert.get())));
  EXPECT_TRUE(cross_signs(pki.intermediate.cert.get(), pki.intermediate.cert.get()));
  EXPECT_FALSE(cross_signs(pki.intermediate.cert.get(), pki.root.cert.get()));
}

}  // namespace
}  // namespace tlsgate::tls
