// Forged leaves (SECURITY-BATTERY cases 18 and 19): exactly the fields a
// client should see, names only from the upstream's SANs, clipped validity.
#include "forging/leaf_forger.h"
#include "ca/ca_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ctime>
#include <set>

#include "test_pki.h"

namespace tlsgate::tls {
namespace {

using namespace std::chrono_literals;
using testing::CertSpec;
using ::testing::ElementsAre;
using testing::TempDir;
using ::testing::UnorderedElementsAre;

constexpr time_t kSlack = 120;  // seconds between "now" here and in forge()

class LeafForgerTest : public ::testing::Test {
 protected:
  TempDir dir_;
  CaStore ca_ = CaStore::open_or_create(dir_.path());
  LeafForger forger_{ca_};
  testing::TestPki pki_;

  X509Ptr upstream(const std::string& san) const { return pki_.leaf(testing::server_spec(san)); }
};

std::vector<int> extension_nids(X509* cert) {
  std::vector<int> nids;
  for (int i = 0; i < X509_get_ext_count(cert); ++i) {
    nids.push_back(OBJ_obj2nid(X509_EXTENSION_get_object(X509_get_ext(cert, i))));
  }
  return nids;
}

bool critical(X509* cert, int nid) {
  int pos = X509_get_ext_by_NID(cert, nid, -1);
  return pos >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, pos)) == 1;
}

TEST_F(LeafForgerTest, LeafHasExactlyTheServerFieldsAClientNeeds) {
  X509Ptr up = upstream("DNS:www.lab.test,DNS:lab.test,IP:192.0.2.10,IP:2001:db8::10");
  auto forged = forger_.forge(up.get());
  X509* leaf = forged->leaf.get();

  EXPECT_EQ(X509_get_version(leaf), X509_VERSION_3);
  EXPECT_THAT(extension_nids(leaf),
              UnorderedElementsAre(NID_basic_constraints, NID_key_usage, NID_ext_key_usage,
                                   NID_subject_alt_name, NID_subject_key_identifier,
                                   NID_authority_key_identifier));
  int crit = 0;
  auto* bc = static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(leaf, NID_basic_constraints, &crit, nullptr));
  ASSERT_NE(bc, nullptr);
  EXPECT_EQ(bc->ca, 0);
  EXPECT_EQ(crit, 1);
  BASIC_CONSTRAINTS_free(bc);
  EXPECT_EQ(X509_check_ca(leaf), 0);
  EXPECT_EQ(X509_get_key_usage(leaf), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_TRUE(critical(leaf, NID_key_usage));
  EXPECT_EQ(X509_get_extended_key_usage(leaf), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_FALSE(critical(leaf, NID_subject_alt_name));

  EXPECT_THAT(testing::san_entries(leaf),
              ElementsAre("DNS:www.lab.test", "DNS:lab.test", "IP:192.0.2.10", "IP:2001:db8::10"));
  EXPECT_EQ(testing::subject_of(leaf), "CN=www.lab.test");
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(leaf), X509_get_subject_name(ca_.signer())), 0);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf),
                                  X509_get0_subject_key_id(ca_.signer())),
            0);

  EXPECT_EQ(X509_get_signature_nid(leaf), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_verify(leaf, X509_get0_pubkey(ca_.signer())), 1);
  char curve[64] = {};
  EVP_PKEY_get_group_name(X509_get0_pubkey(leaf), curve, sizeof curve, nullptr);
  EXPECT_STREQ(curve, "prime256v1");
  EXPECT_EQ(X509_check_private_key(leaf, forged->key.get()), 1);

  ASSERT_EQ(forged->chain.size(), 1u);
  EXPECT_EQ(X509_cmp(forged->chain[0].get(), ca_.signer()), 0);
  // The upstream's key never appears in the forged leaf.
  EXPECT_NE(EVP_PKEY_eq(X509_get0_pubkey(leaf), X509_get0_pubkey(up.get())), 1);
}

TEST_F(LeafForgerTest, SerialsAre16RandomPositiveBytesAndDistinct) {
  X509Ptr up = upstream("DNS:www.lab.test");
  std::set<std::string> serials;
  for (int i = 0; i < 32; ++i) {
    auto forged = forger_.forge(up.get());
    const ASN1_INTEGER* serial = X509_get0_serialNumber(forged->leaf.get());
    EXPECT_EQ(ASN1_STRING_type(serial), V_ASN1_INTEGER);  // not V_ASN1_NEG_INTEGER
    EXPECT_EQ(ASN1_STRING_length(serial), 16);
    serials.emplace(reinterpret_cast<const char*>(ASN1_STRING_get0_data(serial)),
                    static_cast<size_t>(ASN1_STRING_length(serial)));
  }
  EXPECT_EQ(serials.size(), 32u);
}

TEST_F(LeafForgerTest, OneLeafKeyPerForger) {
  X509Ptr a = upstream("DNS:a.lab.test");
  X509Ptr b = upstream("DNS:b.lab.test");
  EXPECT_EQ(EVP_PKEY_eq(forger_.forge(a.get())->key.get(), forger_.forge(b.get())->key.get()), 1);
  LeafForger other(ca_);
  EXPECT_NE(EVP_PKEY_eq(other.forge(a.get())->key.get(), forger_.forge(a.get())->key.get()), 1);
}

TEST_F(LeafForgerTest, ChainVerifiesToTheRootWithHostnameCheck) {
  X509Ptr up = upstream("DNS:www.lab.test,IP:192.0.2.10");
  auto forged = forger_.forge(up.get());
  X509StorePtr store(X509_STORE_new());
  ASSERT_EQ(X509_STORE_add_cert(store.get(), ca_.root()), 1);
  X509BorrowedStackPtr chain(sk_X509_new_null());
  for (const X509Ptr& c : forged->chain) sk_X509_push(chain.get(), c.get());

  auto verify = [&](const char* host, const char* ip) {
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    X509_STORE_CTX_init(ctx.get(), store.get(), forged->leaf.get(), nullptr);
    X509_STORE_CTX_set0_untrusted(ctx.get(), chain.get());
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    if (host) X509_VERIFY_PARAM_set1_host(param, host, 0);
    if (ip) X509_VERIFY_PARAM_set1_ip_asc(param, ip);
    int ok = X509_verify_cert(ctx.get());
    return ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx.get());
  };
  EXPECT_EQ(verify("www.lab.test", nullptr), X509_V_OK);
  EXPECT_EQ(verify(nullptr, "192.0.2.10"), X509_V_OK);
  EXPECT_EQ(verify("other.lab.test", nullptr), X509_V_ERR_HOSTNAME_MISMATCH);
}

TEST_F(LeafForgerTest, OnlyDnsAndIpNamesAreCopied) {
  X509Ptr up = upstream(
      "email:admin@lab.test,DNS:www.lab.test,URI:https://lab.test/,IP:192.0.2.10,"
      "RID:1.2.3.4,otherName:1.3.6.1.4.1.311.20.2.3;UTF8:admin@lab.test");
  ASSERT_EQ(testing::san_entries(up.get()).size(), 6u);
  auto forged = forger_.forge(up.get());
  EXPECT_THAT(testing::san_entries(forged->leaf.get()),
              ElementsAre("DNS:www.lab.test", "IP:192.0.2.10"));
}

TEST_F(LeafForgerTest, IpOnlyUpstreamGetsTheIpAsCommonName) {
  X509Ptr up = upstream("IP:192.0.2.10");
  auto forged = forger_.forge(up.get());
  EXPECT_EQ(testing::subject_of(forged->leaf.get()), "CN=192.0.2.10");
  EXPECT_THAT(testing::san_entries(forged->leaf.get()), ElementsAre("IP:192.0.2.10"));
}

TEST_F(LeafForgerTest, CommonNameSkipsNamesTooLongForIt) {
  std::string long_name = std::string(70, 'a') + ".lab.test";
  X509Ptr up = upstream("DNS:" + long_name + ",DNS:short.lab.test");
  auto forged = forger_.forge(up.get());
  EXPECT_EQ(testing::subject_of(forged->leaf.get()), "CN=short.lab.test");
  EXPECT_THAT(testing::san_entries(forged->leaf.get()),
              ElementsAre("DNS:" + long_name, "DNS:short.lab.test"));

  X509Ptr only_long = upstream("DNS:" + long_name);
  auto empty_subject = forger_.forge(only_long.get());
  EXPECT_EQ(X509_NAME_entry_count(X509_get_subject_name(empty_subject->leaf.get())), 0);
  EXPECT_TRUE(critical(empty_subject->leaf.get(), NID_subject_alt_name));
}

TEST_F(LeafForgerTest, UpstreamWithoutSanIsRefusedNeverForgedFromCn) {
  CertSpec cn_only = testing::server_spec("");
  cn_only.common_name = "www.lab.test";
  X509Ptr up = pki_.leaf(cn_only);
  EXPECT_THROW(forger_.forge(up.get()), std::runtime_error);
  X509Ptr email_only = upstream("email:admin@lab.test");
  EXPECT_THROW(forger_.forge(email_only.get()), std::runtime_error);
}

TEST_F(LeafForgerTest, CaPowersPoliciesAndPointersAreNeverCopied) {
  // Under `allow` an upstream leaf can be anything (case 19).
  CertSpec spec = testing::server_spec("DNS:www.lab.test");
  spec.basic_constraints = "critical,CA:TRUE,pathlen:3";
  spec.key_usage = "critical,keyCertSign,cRLSign,digitalSignature";
  spec.ext_key_usage = "serverAuth,clientAuth,codeSigning,OCSPSigning";
  spec.extra = {{NID_certificate_policies, "1.2.3.4,2.23.140.1.2.1"},
                {NID_info_access, "caIssuers;URI:http://ca.lab.test/ca.crt"},
                {NID_crl_distribution_points, "URI:http://ca.lab.test/ca.crl"},
                {NID_name_constraints, "permitted;DNS:lab.test"}};
  X509Ptr up = pki_.leaf(spec);
  ASSERT_NE(X509_check_ca(up.get()), 0);
  for (int nid : {NID_certificate_policies, NID_info_access, NID_crl_distribution_points,
                  NID_name_constraints}) {
    ASSERT_GE(X509_get_ext_by_NID(up.get(), nid, -1), 0) << OBJ_nid2sn(nid);
  }
  auto forged = forger_.forge(up.get());
  X509* leaf = forged->leaf.get();
  EXPECT_EQ(X509_check_ca(leaf), 0);
  EXPECT_EQ(X509_get_key_usage(leaf), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(leaf), static_cast<uint32_t>(XKU_SSL_SERVER));
  for (int nid : {NID_certificate_policies, NID_info_access, NID_crl_distribution_points,
                  NID_name_constraints}) {
    EXPECT_LT(X509_get_ext_by_NID(leaf, nid, -1), 0) << OBJ_nid2sn(nid);
  }
  EXPECT_EQ(X509_get_ext_count(leaf), 6);
}

struct ValidityCase {
  const char* name;
  std::chrono::seconds up_not_before;
  std::chrono::seconds up_not_after;
  // Expected forged bounds relative to now (nullopt: equal to the upstream's).
  std::optional<std::chrono::seconds> not_before;
  std::optional<std::chrono::seconds> not_after;
  bool collapsed_to_upstream_after = false;
  bool collapsed_to_upstream_before = false;
};

class ForgedValidity : public LeafForgerTest, public ::testing::WithParamInterface<ValidityCase> {};

TEST_P(ForgedValidity, StaysInsideUpstreamAndAWeek) {
  const ValidityCase& c = GetParam();
  CertSpec spec = testing::server_spec("DNS:www.lab.test");
  spec.not_before = c.up_not_before;
  spec.not_after = c.up_not_after;
  X509Ptr up = pki_.leaf(spec);
  time_t now = std::time(nullptr);
  auto forged = forger_.forge(up.get());
  time_t nb = testing::not_before_of(forged->leaf.get());
  time_t na = testing::not_after_of(forged->leaf.get());
  time_t up_nb = testing::not_before_of(up.get());
  time_t up_na = testing::not_after_of(up.get());

  // Invariants for every upstream.
  EXPECT_GE(nb, up_nb);
  EXPECT_LE(na, up_na);
  EXPECT_LE(nb, na);
  EXPECT_LE(na - nb, std::chrono::seconds(LeafForger::kMaxValidity).count() + 3600);

  if (c.collapsed_to_upstream_after) {
    EXPECT_EQ(nb, up_na);
    EXPECT_EQ(na, up_na);
  } else if (c.collapsed_to_upstream_before) {
    EXPECT_EQ(nb, up_nb);
    EXPECT_EQ(na, up_nb);
  } else {
    if (c.not_before) {
      EXPECT_NEAR(static_cast<double>(nb), static_cast<double>(now + c.not_before->count()),
                  kSlack);
    } else {
      EXPECT_EQ(nb, up_nb);
    }
    if (c.not_after) {
      EXPECT_NEAR(static_cast<double>(na), static_cast<double>(now + c.not_after->count()), kSlack);
    } else {
      EXPECT_EQ(na, up_na);
    }
  }
  // The client sees the same validity verdict as the upstream's.
  EXPECT_EQ(X509_cmp_time(X509_get0_notBefore(forged->leaf.get()), nullptr) < 0,
            X509_cmp_time(X509_get0_notBefore(up.get()), nullptr) < 0);
  EXPECT_EQ(X509_cmp_time(X509_get0_notAfter(forged->leaf.get()), nullptr) > 0,
            X509_cmp_time(X509_get0_notAfter(up.get()), nullptr) > 0);
}

constexpr std::chrono::seconds kDay = 24h;
INSTANTIATE_TEST_SUITE_P(
    Upstreams, ForgedValidity,
    ::testing::Values(
        // valid for one day, issued 2 h ago: start clipped to now-1h, end kept
        ValidityCase{"one_day", -2h, 22h, -1h, std::nullopt},
        // issued 10 minutes ago: both kept
        ValidityCase{"fresh", -10min, 20h, std::nullopt, std::nullopt},
        // two years: both sides clipped
        ValidityCase{"two_years", -30 * kDay, 700 * kDay, -1h, 7 * kDay},
        // not yet valid for two days: start kept (client sees not-yet-valid too)
        ValidityCase{"not_yet_valid", 2 * kDay, 365 * kDay, std::nullopt, 7 * kDay},
        // starts after the forged window would end: one instant at its start
        ValidityCase{"far_future", 30 * kDay, 365 * kDay, std::nullopt, std::nullopt, false, true},
        // expired yesterday: never re-minted fresh
        ValidityCase{"expired", -30 * kDay, -kDay, std::nullopt, std::nullopt, true, false}),
    [](const auto& test_case) { return std::string(test_case.param.name); });

}  // namespace
}  // namespace tlsgate::tls
