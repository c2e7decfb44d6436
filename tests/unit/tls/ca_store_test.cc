// CaStore: creation, file modes, extensions (SECURITY-BATTERY cases 31–33),
// reloading and refusal of damaged or exposed CA directories.
#include "ca/ca_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <sstream>

#include "test_pki.h"

namespace tlsgate::tls {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using testing::TempDir;

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string open_error(const fs::path& state_dir) {
  try {
    CaStore::open_or_create(state_dir);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

bool extension_critical(X509* cert, int nid) {
  int pos = X509_get_ext_by_NID(cert, nid, -1);
  return pos >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, pos)) == 1;
}

std::vector<int> extension_nids(X509* cert) {
  std::vector<int> nids;
  for (int i = 0; i < X509_get_ext_count(cert); ++i) {
    nids.push_back(OBJ_obj2nid(X509_EXTENSION_get_object(X509_get_ext(cert, i))));
  }
  return nids;
}

std::string curve_of(X509* cert) {
  char name[64] = {};
  size_t len = 0;
  EVP_PKEY_get_group_name(X509_get0_pubkey(cert), name, sizeof name, &len);
  return name;
}

long lifetime_days(X509* cert) {
  int days = 0, seconds = 0;
  ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(cert), X509_get0_notAfter(cert));
  return days;
}

void expect_ca_constraints(X509* cert, long pathlen) {
  int critical = 0;
  BASIC_CONSTRAINTS* bc = static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert, NID_basic_constraints, &critical, nullptr));
  ASSERT_NE(bc, nullptr);
  EXPECT_EQ(critical, 1);
  EXPECT_NE(bc->ca, 0);
  ASSERT_NE(bc->pathlen, nullptr);
  EXPECT_EQ(ASN1_INTEGER_get(bc->pathlen), pathlen);
  BASIC_CONSTRAINTS_free(bc);
  EXPECT_EQ(X509_get_key_usage(cert), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_TRUE(extension_critical(cert, NID_key_usage));
  ASSERT_NE(X509_get0_subject_key_id(cert), nullptr);
  // Random positive serial of 16 bytes.
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  EXPECT_EQ(ASN1_STRING_type(serial), V_ASN1_INTEGER);
  EXPECT_EQ(ASN1_STRING_length(serial), 16);
}

TEST(CaStore, CreatesPrivateDirectoryAndKeyFiles) {
  TempDir dir;
  CaStore::open_or_create(dir.path());
  fs::path ca = dir.path() / "ca";
  EXPECT_EQ(mode_of(ca), 0700u);
  EXPECT_EQ(mode_of(ca / "root.key"), 0600u);
  EXPECT_EQ(mode_of(ca / "intermediate.key"), 0600u);
  EXPECT_TRUE(fs::is_regular_file(ca / "root.pem"));
  EXPECT_TRUE(fs::is_regular_file(ca / "intermediate.pem"));
  // Nothing but the CA: no temporary directory left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
  EXPECT_EQ(std::distance(fs::directory_iterator(ca), fs::directory_iterator()), 4);
}

TEST(CaStore, RootIsP384SelfSignedWithExactlyCaExtensions) {
  TempDir dir;
  CaStore ca = CaStore::open_or_create(dir.path());
  X509* root = ca.root();
  EXPECT_EQ(EVP_PKEY_get_base_id(X509_get0_pubkey(root)), EVP_PKEY_EC);
  EXPECT_EQ(curve_of(root), "secp384r1");
  EXPECT_EQ(X509_get_version(root), X509_VERSION_3);
  EXPECT_THAT(testing::subject_of(root), MatchesRegex("CN=tlsgate Root CA [0-9a-f]{8},O=tlsgate"));
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(root), X509_get_issuer_name(root)), 0);
  EXPECT_EQ(X509_verify(root, X509_get0_pubkey(root)), 1);
  expect_ca_constraints(root, 1);
  EXPECT_THAT(extension_nids(root),
              ::testing::UnorderedElementsAre(NID_basic_constraints, NID_key_usage,
                                              NID_subject_key_identifier));
  EXPECT_GE(lifetime_days(root), 3650);
  EXPECT_LE(lifetime_days(root), 3652);
  // The CN carries the key id, so two installations look different.
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(root);
  char prefix[9];
  std::snprintf(prefix, sizeof prefix, "%02x%02x%02x%02x", ASN1_STRING_get0_data(ski)[0],
                ASN1_STRING_get0_data(ski)[1], ASN1_STRING_get0_data(ski)[2],
                ASN1_STRING_get0_data(ski)[3]);
  EXPECT_THAT(testing::subject_of(root), HasSubstr(prefix));
}

TEST(CaStore, IntermediateIsP256SignedByRootWithSha384) {
  TempDir dir;
  CaStore ca = CaStore::open_or_create(dir.path());
  X509* signer = ca.signer();
  EXPECT_EQ(curve_of(signer), "prime256v1");
  EXPECT_THAT(testing::subject_of(signer),
              MatchesRegex("CN=tlsgate Intermediate CA [0-9a-f]{8},O=tlsgate"));
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(signer), X509_get_subject_name(ca.root())), 0);
  EXPECT_EQ(X509_get_signature_nid(signer), NID_ecdsa_with_SHA384);
  EXPECT_EQ(X509_verify(signer, X509_get0_pubkey(ca.root())), 1);
  expect_ca_constraints(signer, 0);
  EXPECT_THAT(
      extension_nids(signer),
      ::testing::UnorderedElementsAre(NID_basic_constraints, NID_key_usage,
                                      NID_subject_key_identifier, NID_authority_key_identifier));
  ASSERT_NE(X509_get0_authority_key_id(signer), nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(signer),
                                  X509_get0_subject_key_id(ca.root())),
            0);
  EXPECT_GE(lifetime_days(signer), 1825);
  EXPECT_LE(lifetime_days(signer), 1827);
  EXPECT_EQ(X509_check_private_key(signer, ca.signer_key()), 1);

  // The chain verifies as a CA chain with OpenSSL's own rules.
  X509StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca.root());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  ASSERT_EQ(X509_STORE_CTX_init(ctx.get(), store.get(), signer, nullptr), 1);
  EXPECT_EQ(X509_verify_cert(ctx.get()), 1)
      << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
}

TEST(CaStore, EachInstallationHasItsOwnKeys) {
  TempDir a, b;
  CaStore ca_a = CaStore::open_or_create(a.path());
  CaStore ca_b = CaStore::open_or_create(b.path());
  EXPECT_NE(EVP_PKEY_eq(X509_get0_pubkey(ca_a.root()), X509_get0_pubkey(ca_b.root())), 1);
  EXPECT_NE(EVP_PKEY_eq(ca_a.signer_key(), ca_b.signer_key()), 1);
  EXPECT_NE(testing::subject_of(ca_a.root()), testing::subject_of(ca_b.root()));
  EXPECT_NE(ca_a.signer_id(), ca_b.signer_id());
  EXPECT_NE(
      ASN1_INTEGER_cmp(X509_get0_serialNumber(ca_a.root()), X509_get0_serialNumber(ca_b.root())),
      0);
}

TEST(CaStore, ReopeningLoadsTheSameCaWithoutRewritingFiles) {
  TempDir dir;
  CaStore first = CaStore::open_or_create(dir.path());
  std::string root_key = read_all(dir.path() / "ca" / "root.key");
  std::string signer_pem = read_all(dir.path() / "ca" / "intermediate.pem");
  CaStore again = CaStore::open_or_create(dir.path());
  CaStore existing = CaStore::open_existing(dir.path());
  for (const CaStore* ca : {&again, &existing}) {
    EXPECT_EQ(X509_cmp(ca->root(), first.root()), 0);
    EXPECT_EQ(X509_cmp(ca->signer(), first.signer()), 0);
    EXPECT_EQ(EVP_PKEY_eq(ca->signer_key(), first.signer_key()), 1);
    EXPECT_EQ(ca->signer_id(), first.signer_id());
  }
  EXPECT_EQ(read_all(dir.path() / "ca" / "root.key"), root_key);
  EXPECT_EQ(read_all(dir.path() / "ca" / "intermediate.pem"), signer_pem);
}

TEST(CaStore, SignerIdIsSha256OfIntermediateDer) {
  TempDir dir;
  CaStore ca = CaStore::open_or_create(dir.path());
  unsigned char* der = nullptr;
  int len = i2d_X509(ca.signer(), &der);
  ASSERT_GT(len, 0);
  unsigned char md[32];
  EVP_Digest(der, static_cast<size_t>(len), md, nullptr, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  std::string hex;
  for (unsigned char c : md) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", c);
    hex += two;
  }
  EXPECT_EQ(ca.signer_id(), hex);
}

TEST(CaStore, RootPemIsTheRootCertificate) {
  TempDir dir;
  CaStore ca = CaStore::open_or_create(dir.path());
  std::string pem = ca.root_pem();
  EXPECT_THAT(pem, HasSubstr("-----BEGIN CERTIFICATE-----"));
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr parsed(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(X509_cmp(parsed.get(), ca.root()), 0);
  EXPECT_EQ(pem, read_all(dir.path() / "ca" / "root.pem"));
}

TEST(CaStore, OpenExistingNeverCreates) {
  TempDir dir;
  EXPECT_THROW(CaStore::open_existing(dir.path()), std::runtime_error);
  EXPECT_FALSE(fs::exists(dir.path() / "ca"));
  fs::create_directory(dir.path() / "ca");
  fs::permissions(dir.path() / "ca", fs::perms::owner_all);
  EXPECT_THROW(CaStore::open_existing(dir.path()), std::runtime_error);
  EXPECT_TRUE(fs::is_empty(dir.path() / "ca"));
}

TEST(CaStore, CreatesIntoAnEmptyPreexistingDirectory) {
  TempDir dir;
  fs::create_directory(dir.path() / "ca");
  CaStore ca = CaStore::open_or_create(dir.path());
  EXPECT_EQ(mode_of(dir.path() / "ca"), 0700u);
  EXPECT_EQ(mode_of(dir.path() / "ca" / "intermediate.key"), 0600u);
}

class ExposedKey : public ::testing::TestWithParam<const char*> {};

TEST_P(ExposedKey, LoadFailsNamingTheFile) {
  TempDir dir;
  CaStore::open_or_create(dir.path());
  fs::path key = dir.path() / "ca" / GetParam();
  std::string before = read_all(key);
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  std::string error = open_error(dir.path());
  EXPECT_THAT(error, HasSubstr(key.string()));
  EXPECT_THAT(error, HasSubstr("0644"));
  EXPECT_THAT(error, Not(HasSubstr("PRIVATE KEY")));
  EXPECT_THROW(CaStore::open_existing(dir.path()), std::runtime_error);
  EXPECT_EQ(read_all(key), before);  // never replaced
  EXPECT_EQ(mode_of(key), 0644u);    // nor silently "fixed"
}

INSTANTIATE_TEST_SUITE_P(Keys, ExposedKey, ::testing::Values("root.key", "intermediate.key"));

class MissingFile : public ::testing::TestWithParam<const char*> {};

TEST_P(MissingFile, PartialCaIsAnErrorNamingWhatIsMissing) {
  TempDir dir;
  CaStore::open_or_create(dir.path());
  fs::path ca = dir.path() / "ca";
  fs::remove(ca / GetParam());
  std::map<std::string, std::string> before;
  for (const auto& entry : fs::directory_iterator(ca)) {
    before[entry.path().filename()] = read_all(entry.path());
  }
  std::string error = open_error(dir.path());
  EXPECT_THAT(error, HasSubstr("missing"));
  EXPECT_THAT(error, HasSubstr(GetParam()));
  // The remaining files are left exactly as they were; nothing is recreated.
  std::map<std::string, std::string> after;
  for (const auto& entry : fs::directory_iterator(ca)) {
    after[entry.path().filename()] = read_all(entry.path());
  }
  EXPECT_EQ(after, before);
}

INSTANTIATE_TEST_SUITE_P(Files, MissingFile,
                         ::testing::Values("root.pem", "root.key", "intermediate.pem",
                                           "intermediate.key"));

TEST(CaStore, KeyFromAnotherInstallationIsRejected) {
  TempDir mine, other;
  CaStore::open_or_create(mine.path());
  CaStore::open_or_create(other.path());
  fs::path key = mine.path() / "ca" / "intermediate.key";
  fs::remove(key);
  fs::copy_file(other.path() / "ca" / "intermediate.key", key);
  ASSERT_EQ(mode_of(key), 0600u);
  std::string error = open_error(mine.path());
  EXPECT_THAT(error, HasSubstr("intermediate.key does not match"));
}

TEST(CaStore, IntermediateFromAnotherRootIsRejected) {
  TempDir mine, other;
  CaStore::open_or_create(mine.path());
  CaStore::open_or_create(other.path());
  for (const char* name : {"intermediate.pem", "intermediate.key"}) {
    fs::remove(mine.path() / "ca" / name);
    fs::copy_file(other.path() / "ca" / name, mine.path() / "ca" / name);
  }
  EXPECT_THAT(open_error(mine.path()), HasSubstr("is not issued by"));
}

TEST(CaStore, GarbageCertificateIsAnErrorNamingTheFile) {
  TempDir dir;
  CaStore::open_or_create(dir.path());
  fs::path pem = dir.path() / "ca" / "root.pem";
  fs::remove(pem);
  std::ofstream(pem) << "not a certificate\n";
  EXPECT_THAT(open_error(dir.path()), HasSubstr(pem.string()));
}

TEST(CaStore, CaDirectoryWritableByOthersIsRejected) {
  TempDir dir;
  CaStore::open_or_create(dir.path());
  ASSERT_EQ(::chmod((dir.path() / "ca").c_str(), 0777), 0);
  EXPECT_THAT(open_error(dir.path()), HasSubstr((dir.path() / "ca").string()));
}

}  // namespace
}  // namespace tlsgate::tls
