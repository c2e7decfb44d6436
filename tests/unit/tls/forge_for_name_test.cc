// Leaves forged for a requested name (pages, untrusted_ca, allow) and for a
// validated IP only (SECURITY-BATTERY case 34): exactly that name, nothing
// copied from any upstream certificate, the case 18 fields.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ctime>

#include "ca/ca_store.h"
#include "forging/forged_cert_cache.h"
#include "forging/leaf_forger.h"
#include "test_pki.h"

namespace tlsgate::tls {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;

constexpr time_t kSlack = 120;

class ForgeForNameTest : public ::testing::Test {
 protected:
  TempDir dir_;
  CaStore ca_ = CaStore::open_or_create(dir_.path());
  LeafForger forger_{ca_};
  testing::TestPki pki_;
};

int verify_for(const CaStore& ca, const ForgedCert& forged, const std::string& host) {
  X509StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca.root());
  X509BorrowedStackPtr chain(sk_X509_new_null());
  for (const X509Ptr& c : forged.chain) sk_X509_push(chain.get(), c.get());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), forged.leaf.get(), chain.get());
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  if (std::optional<IpAddress> ip = IpAddress::parse(host)) {
    X509_VERIFY_PARAM_set1_ip(param, ip->bytes().data(), ip->size());
  } else {
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  }
  X509_verify_cert(ctx.get());
  return X509_STORE_CTX_get_error(ctx.get());
}

TEST_F(ForgeForNameTest, DnsNameIsTheOnlySanAndTheCommonName) {
  auto forged = forger_.forge_for_name("expired.lab.test");
  X509* leaf = forged->leaf.get();
  EXPECT_THAT(testing::san_entries(leaf), ElementsAre("DNS:expired.lab.test"));
  EXPECT_EQ(testing::subject_of(leaf), "CN=expired.lab.test");
  EXPECT_EQ(verify_for(ca_, *forged, "expired.lab.test"), X509_V_OK);
  EXPECT_EQ(verify_for(ca_, *forged, "other.lab.test"), X509_V_ERR_HOSTNAME_MISMATCH);
}

TEST_F(ForgeForNameTest, IpLiteralsBecomeIpSans) {
  auto v4 = forger_.forge_for_name("192.0.2.7");
  EXPECT_THAT(testing::san_entries(v4->leaf.get()), ElementsAre("IP:192.0.2.7"));
  EXPECT_EQ(verify_for(ca_, *v4, "192.0.2.7"), X509_V_OK);
  auto v6 = forger_.forge_for_name("2001:DB8::7");
  EXPECT_THAT(testing::san_entries(v6->leaf.get()), ElementsAre("IP:2001:db8::7"));
  EXPECT_EQ(testing::subject_of(v6->leaf.get()), "CN=2001:db8::7");
}

TEST_F(ForgeForNameTest, NameIsLowerCasedWithoutTrailingDot) {
  auto forged = forger_.forge_for_name("WWW.Lab.Test.");
  EXPECT_THAT(testing::san_entries(forged->leaf.get()), ElementsAre("DNS:www.lab.test"));
}

TEST_F(ForgeForNameTest, RefusesWhatCannotBeAHostName) {
  const std::string long_label(64, 'a');
  for (std::string bad :
       {std::string(""), std::string("*.lab.test"), std::string("a b.test"),
        std::string("a\0b.test", 8), std::string("<script>.test"), std::string("a..test"),
        std::string(".lab.test"), std::string("."), long_label + ".test", std::string(300, 'a'),
        std::string("caf\xc3\xa9.test")}) {
    EXPECT_THROW(forger_.forge_for_name(bad), std::invalid_argument) << bad;
  }
}

TEST_F(ForgeForNameTest, ShortValidityAndTheCase18Fields) {
  const time_t now = std::time(nullptr);
  auto forged = forger_.forge_for_name("a.lab.test");
  X509* leaf = forged->leaf.get();
  EXPECT_NEAR(static_cast<double>(testing::not_before_of(leaf)), static_cast<double>(now - 3600),
              kSlack);
  EXPECT_NEAR(static_cast<double>(testing::not_after_of(leaf)),
              static_cast<double>(now + 24 * 3600), kSlack);
  EXPECT_EQ(X509_check_ca(leaf), 0);
  EXPECT_EQ(X509_get_key_usage(leaf), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(leaf), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_get_signature_nid(leaf), NID_ecdsa_with_SHA256);
  EXPECT_EQ(ASN1_STRING_length(X509_get0_serialNumber(leaf)), 16);
  // Renewed by caches at half its life, long before it expires.
  const auto renew = std::chrono::system_clock::to_time_t(forged->renew_after);
  EXPECT_NEAR(static_cast<double>(renew), static_cast<double>(now + 12 * 3600), kSlack);
}

TEST_F(ForgeForNameTest, NoSniFlowGetsOnlyTheValidatedIp) {
  // Case 34: validated against 192.0.2.10 only; the upstream also names hosts.
  X509Ptr up = pki_.leaf(
      testing::server_spec("DNS:www.lab.test,DNS:bank.lab.test,IP:192.0.2.10,IP:2001:db8::10"));
  auto ip = IpAddress::parse("192.0.2.10");
  auto forged = forger_.forge(up.get(), ip);
  EXPECT_THAT(testing::san_entries(forged->leaf.get()), ElementsAre("IP:192.0.2.10"));
  EXPECT_EQ(testing::subject_of(forged->leaf.get()), "CN=192.0.2.10");
  EXPECT_EQ(verify_for(ca_, *forged, "www.lab.test"), X509_V_ERR_HOSTNAME_MISMATCH);
  EXPECT_EQ(verify_for(ca_, *forged, "192.0.2.10"), X509_V_OK);
  // Validity still within the upstream's (case 18).
  EXPECT_LE(testing::not_after_of(forged->leaf.get()), testing::not_after_of(up.get()));

  auto v6 = forger_.forge(up.get(), IpAddress::parse("2001:db8::10"));
  EXPECT_THAT(testing::san_entries(v6->leaf.get()), ElementsAre("IP:2001:db8::10"));
}

TEST_F(ForgeForNameTest, ValidatedIpMissingFromTheUpstreamIsRefused) {
  X509Ptr up = pki_.leaf(testing::server_spec("DNS:www.lab.test,IP:192.0.2.10"));
  try {
    forger_.forge(up.get(), IpAddress::parse("192.0.2.11"));
    ADD_FAILURE() << "forged a leaf for an address the upstream was not validated for";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no IP SAN 192.0.2.11"));
  }
}

TEST_F(ForgeForNameTest, UpstreamCutShortByMaxValidityIsRenewedAtHalfLife) {
  const time_t now = std::time(nullptr);
  X509Ptr long_lived = pki_.leaf(testing::server_spec("DNS:a.lab.test"));  // 30 days
  auto forged = forger_.forge(long_lived.get());
  EXPECT_NEAR(static_cast<double>(std::chrono::system_clock::to_time_t(forged->renew_after)),
              static_cast<double>(now + 7 * 24 * 3600 / 2), kSlack);
  testing::CertSpec spec = testing::server_spec("DNS:b.lab.test");
  spec.not_after = 2h;  // ends before kMaxValidity: forging again gives the same leaf
  auto short_lived = forger_.forge(pki_.leaf(spec).get());
  EXPECT_EQ(short_lived->renew_after, std::chrono::system_clock::time_point::max());
}

class ForgedNameCacheTest : public ForgeForNameTest {
 protected:
  std::chrono::system_clock::time_point now_ = std::chrono::system_clock::now();
  ForgedCertCache cache_{64, 4, [this] { return now_; }};
};

TEST_F(ForgedNameCacheTest, SameNameIsOneLeafOtherNamesAndCasAreNot) {
  auto a = cache_.get_or_forge_name(forger_, "a.lab.test");
  EXPECT_EQ(cache_.get_or_forge_name(forger_, "a.lab.test"), a);
  EXPECT_NE(cache_.get_or_forge_name(forger_, "b.lab.test"), a);
  CaStore untrusted = CaStore::open_or_create_untrusted(dir_.path());
  LeafForger untrusted_forger(untrusted);
  auto u = cache_.get_or_forge_name(untrusted_forger, "a.lab.test");
  EXPECT_NE(u, a);
  EXPECT_EQ(
      X509_NAME_cmp(X509_get_issuer_name(u->leaf.get()), X509_get_subject_name(untrusted.signer())),
      0);
  EXPECT_EQ(cache_.hits(), 1u);
  EXPECT_EQ(cache_.misses(), 3u);
}

TEST_F(ForgedNameCacheTest, NameAndUpstreamKeysNeverMeet) {
  X509Ptr up = pki_.leaf(testing::server_spec("DNS:a.lab.test,IP:192.0.2.10"));
  auto by_cert = cache_.get_or_forge(forger_, up.get());
  auto by_ip = cache_.get_or_forge(forger_, up.get(), IpAddress::parse("192.0.2.10"));
  auto by_name = cache_.get_or_forge_name(forger_, "a.lab.test");
  EXPECT_NE(by_cert, by_ip);
  EXPECT_NE(by_cert, by_name);
  EXPECT_THAT(testing::san_entries(by_ip->leaf.get()), ElementsAre("IP:192.0.2.10"));
  EXPECT_EQ(cache_.get_or_forge(forger_, up.get(), IpAddress::parse("192.0.2.10")), by_ip);
  EXPECT_EQ(cache_.get_or_forge(forger_, up.get()), by_cert);
}

TEST_F(ForgedNameCacheTest, LeafIsForgedAgainOnceDueForRenewal) {
  auto first = cache_.get_or_forge_name(forger_, "a.lab.test");
  now_ += 11h;
  EXPECT_EQ(cache_.get_or_forge_name(forger_, "a.lab.test"), first);
  now_ = first->renew_after;  // 12h after forging: never serve a leaf close to expiry
  auto second = cache_.get_or_forge_name(forger_, "a.lab.test");
  EXPECT_NE(second, first);
  EXPECT_EQ(cache_.size(), 1u);
  // (The forger dates leaves by the real clock: back to it, the new leaf is fresh.)
  now_ = std::chrono::system_clock::now();
  EXPECT_EQ(cache_.get_or_forge_name(forger_, "a.lab.test"), second);
}

}  // namespace
}  // namespace tlsgate::tls
