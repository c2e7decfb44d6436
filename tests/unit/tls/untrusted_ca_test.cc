// The untrusted CA of the `untrusted_ca` action (DESIGN.md §5): made like the
// gateway CA, says what it is in every name, lives apart, and its leaves
// never validate against the gateway root a client installed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "ca/ca_store.h"
#include "forging/leaf_forger.h"
#include "test_pki.h"

namespace tlsgate::tls {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::TempDir;

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// Verifies `leaf` (+ chain) against `root` with a host name check.
int verify_against(X509* root, const ForgedCert& forged, const std::string& host) {
  X509StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), root);
  X509BorrowedStackPtr chain(sk_X509_new_null());
  for (const X509Ptr& c : forged.chain) sk_X509_push(chain.get(), c.get());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), forged.leaf.get(), chain.get());
  X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx.get()), host.c_str(), host.size());
  X509_verify_cert(ctx.get());
  return X509_STORE_CTX_get_error(ctx.get());
}

TEST(UntrustedCa, CreatedUnderCaUntrustedWithPrivateKeys) {
  TempDir dir;
  CaStore gateway = CaStore::open_or_create(dir.path());
  CaStore untrusted = CaStore::open_or_create_untrusted(dir.path());
  const fs::path d = dir.path() / "ca" / "untrusted";
  EXPECT_EQ(mode_of(d), 0700u);
  EXPECT_EQ(mode_of(d / "root.key"), 0600u);
  EXPECT_EQ(mode_of(d / "intermediate.key"), 0600u);
  EXPECT_TRUE(untrusted.untrusted());
  EXPECT_FALSE(gateway.untrusted());
  // Different keys, different signer ids: cache keys never mix the two.
  EXPECT_NE(untrusted.signer_id(), gateway.signer_id());
  EXPECT_NE(EVP_PKEY_eq(X509_get0_pubkey(untrusted.root()), X509_get0_pubkey(gateway.root())), 1);
}

TEST(UntrustedCa, NamesSayUntrustedAndDoNotInstall) {
  TempDir dir;
  CaStore::open_or_create(dir.path());
  CaStore untrusted = CaStore::open_or_create_untrusted(dir.path());
  for (X509* cert : {untrusted.root(), untrusted.signer()}) {
    const std::string subject = testing::subject_of(cert);
    EXPECT_THAT(subject, HasSubstr("tlsgate UNTRUSTED"));
    EXPECT_THAT(subject, HasSubstr("(do not install)"));
    EXPECT_THAT(subject, HasSubstr("O=tlsgate (untrusted)"));
  }
  // The gateway CA's own names do not carry the marker.
  CaStore gateway = CaStore::open_existing(dir.path());
  EXPECT_THAT(testing::subject_of(gateway.root()), ::testing::Not(HasSubstr("UNTRUSTED")));
}

TEST(UntrustedCa, ReopeningKeepsTheSameCa) {
  TempDir dir;
  CaStore::open_or_create(dir.path());
  std::string first = CaStore::open_or_create_untrusted(dir.path()).signer_id();
  EXPECT_EQ(CaStore::open_or_create_untrusted(dir.path()).signer_id(), first);
}

TEST(UntrustedCa, GatewayCaIsUnchangedByTheUntrustedOne) {
  TempDir dir;
  std::string gateway_id = CaStore::open_or_create(dir.path()).signer_id();
  CaStore::open_or_create_untrusted(dir.path());
  EXPECT_EQ(CaStore::open_existing(dir.path()).signer_id(), gateway_id);
  EXPECT_EQ(CaStore::open_or_create(dir.path()).signer_id(), gateway_id);
}

TEST(UntrustedCa, NeedsTheGatewayCaFirst) {
  TempDir dir;
  try {
    CaStore::open_or_create_untrusted(dir.path());
    ADD_FAILURE() << "created an untrusted CA without a gateway CA";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("gateway CA"));
  }
  // Nothing was left behind that would stop the gateway CA from being made.
  EXPECT_NO_THROW(CaStore::open_or_create(dir.path()));
}

TEST(UntrustedCa, ASwappedDirectoryIsRefusedBothWays) {
  TempDir gateway_dir, other_dir;
  CaStore::open_or_create(gateway_dir.path());
  CaStore::open_or_create(other_dir.path());
  // A trusted gateway CA copied into ca/untrusted must not sign "untrusted" leaves.
  fs::copy(other_dir.path() / "ca", gateway_dir.path() / "ca" / "untrusted",
           fs::copy_options::recursive);
  fs::permissions(gateway_dir.path() / "ca" / "untrusted", fs::perms::owner_all);
  try {
    CaStore::open_or_create_untrusted(gateway_dir.path());
    ADD_FAILURE() << "a trusted CA was accepted as the untrusted CA";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("is not the untrusted CA"));
  }

  // And the untrusted CA can never become the gateway CA.
  TempDir third;
  CaStore::open_or_create(third.path());
  CaStore::open_or_create_untrusted(third.path());
  TempDir swapped;
  fs::copy(third.path() / "ca" / "untrusted", swapped.path() / "ca", fs::copy_options::recursive);
  fs::permissions(swapped.path() / "ca", fs::perms::owner_all);
  try {
    CaStore::open_existing(swapped.path());
    ADD_FAILURE() << "the untrusted CA was accepted as the gateway CA";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("is the untrusted CA"));
  }
}

TEST(UntrustedCa, ItsLeavesFailAgainstTheGatewayRootAndPassOnlyAgainstItsOwn) {
  TempDir dir;
  CaStore gateway = CaStore::open_or_create(dir.path());
  CaStore untrusted = CaStore::open_or_create_untrusted(dir.path());
  LeafForger forger(untrusted);
  auto forged = forger.forge_for_name("bad.lab.test");
  // A client that installed the gateway root sees an unknown issuer: its own warning.
  EXPECT_EQ(verify_against(gateway.root(), *forged, "bad.lab.test"),
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  // The leaf itself is well-formed: only the trust is missing.
  EXPECT_EQ(verify_against(untrusted.root(), *forged, "bad.lab.test"), X509_V_OK);
}

}  // namespace
}  // namespace tlsgate::tls
