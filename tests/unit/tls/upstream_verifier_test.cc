// Upstream certificate validation through real in-memory TLS handshakes
// (SECURITY-BATTERY cases 1–16): each defect is caught, classified, and ends
// the handshake before the server could receive a request byte.
#include "validation/upstream_verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ca/ca_store.h"
#include "forging/leaf_forger.h"
#include "test_pki.h"
#include "upstream_handshake.h"

namespace tlsgate::tls {
namespace {

using namespace std::chrono_literals;
using testing::CertSpec;
using ::testing::ElementsAre;
using testing::KeyedCert;
using testing::ServerIdentity;
using testing::TempDir;
using testing::TestPki;

X509Ptr dup(X509* cert) {
  return share(cert);
}
EvpPkeyPtr dup(EVP_PKEY* key) {
  return share(key);
}

// The trusted PKI's leaf for `spec`, served with the intermediate.
ServerIdentity standard(const TestPki& pki, const CertSpec& spec) {
  ServerIdentity id{pki.leaf(spec), dup(pki.leaf_key.get()), {}};
  id.chain.push_back(dup(pki.intermediate.cert.get()));
  return id;
}

CertSpec www() {
  return testing::server_spec("DNS:www.lab.test");
}

struct DefectCase {
  const char* name;
  ServerIdentity (*make)(const TestPki& trusted);
  const char* host;
  CertErrorClass expected;
  int x509_error;
  int depth;
};

void PrintTo(const DefectCase& c, std::ostream* os) {
  *os << c.name;
}

class CertificateDefect : public ::testing::TestWithParam<DefectCase> {
 protected:
  TempDir dir_;
  TestPki pki_;
  UpstreamVerifier verifier_{pki_.write_root_bundle(dir_.path())};
  SslCtxPtr client_ctx_ = verifier_.make_upstream_ctx();
};

TEST_P(CertificateDefect, IsClassifiedAndAbortsTheHandshake) {
  const DefectCase& c = GetParam();
  ServerIdentity server = c.make(pki_);
  SslCtxPtr server_ctx = testing::make_server_ctx(server);
  testing::UpstreamOutcome out =
      testing::connect_upstream(client_ctx_.get(), server_ctx.get(), c.host);

  EXPECT_FALSE(out.completed);
  // The server never received our Finished: no request byte can follow.
  EXPECT_FALSE(out.server_completed);
  ASSERT_TRUE(out.recorded.has_value());
  EXPECT_EQ(to_string(out.recorded->error_class), to_string(c.expected)) << out.recorded->detail;
  EXPECT_EQ(out.recorded->x509_error, c.x509_error)
      << X509_verify_cert_error_string(out.recorded->x509_error);
  EXPECT_EQ(out.recorded->depth, c.depth);
  EXPECT_FALSE(out.recorded->detail.empty());
  // What the terminator sees after the failed handshake.
  ASSERT_TRUE(out.classified.has_value());
  EXPECT_EQ(out.classified->error_class, c.expected);
  // The event names the certificate the server presented.
  EXPECT_EQ(out.peer.fingerprint_sha256.size(), 64u);
  EXPECT_FALSE(out.peer.chain.empty());
}

const DefectCase kDefects[] = {
    {"expired",
     [](const TestPki& pki) {
       CertSpec s = www();
       s.not_before = -30 * 24h;
       s.not_after = -24h;
       return standard(pki, s);
     },
     "www.lab.test", CertErrorClass::expired, X509_V_ERR_CERT_HAS_EXPIRED, 0},
    {"not_yet_valid",
     [](const TestPki& pki) {
       CertSpec s = www();
       s.not_before = 24h;
       s.not_after = 30 * 24h;
       return standard(pki, s);
     },
     "www.lab.test", CertErrorClass::not_yet_valid, X509_V_ERR_CERT_NOT_YET_VALID, 0},
    {"hostname_mismatch",
     [](const TestPki& pki) { return standard(pki, testing::server_spec("DNS:other.lab.test")); },
     "www.lab.test", CertErrorClass::hostname_mismatch, X509_V_ERR_HOSTNAME_MISMATCH, 0},
    {"wildcard_two_labels",
     [](const TestPki& pki) { return standard(pki, testing::server_spec("DNS:*.lab.test")); },
     "a.b.lab.test", CertErrorClass::hostname_mismatch, X509_V_ERR_HOSTNAME_MISMATCH, 0},
    {"wildcard_tld",
     [](const TestPki& pki) { return standard(pki, testing::server_spec("DNS:*.test")); },
     "lab.test", CertErrorClass::hostname_mismatch, X509_V_ERR_HOSTNAME_MISMATCH, 0},
    {"wildcard_partial_label",
     [](const TestPki& pki) { return standard(pki, testing::server_spec("DNS:f*.lab.test")); },
     "foo.lab.test", CertErrorClass::hostname_mismatch, X509_V_ERR_HOSTNAME_MISMATCH, 0},
    {"cn_only_no_san",
     [](const TestPki& pki) {
       CertSpec s = testing::server_spec("");
       s.common_name = "www.lab.test";
       return standard(pki, s);
     },
     "www.lab.test", CertErrorClass::hostname_mismatch, X509_V_ERR_HOSTNAME_MISMATCH, 0},
    {"ip_not_in_san", [](const TestPki& pki) { return standard(pki, www()); }, "192.0.2.10",
     CertErrorClass::hostname_mismatch, X509_V_ERR_IP_ADDRESS_MISMATCH, 0},
    {"self_signed_leaf",
     [](const TestPki& pki) {
       ServerIdentity id{testing::issue(www(), pki.leaf_key.get(), nullptr, nullptr),
                         dup(pki.leaf_key.get()),
                         {}};
       return id;
     },
     "www.lab.test", CertErrorClass::self_signed, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 0},
    {"self_signed_ca_style",
     [](const TestPki& pki) {
       CertSpec s = www();
       s.basic_constraints = "critical,CA:TRUE";
       s.key_usage = "";
       s.ext_key_usage = "";
       ServerIdentity id{
           testing::issue(s, pki.leaf_key.get(), nullptr, nullptr), dup(pki.leaf_key.get()), {}};
       return id;
     },
     "www.lab.test", CertErrorClass::self_signed, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 0},
    {"untrusted_root_sent",
     [](const TestPki&) {
       TestPki other("Other");
       ServerIdentity id = standard(other, www());
       id.chain.push_back(dup(other.root.cert.get()));
       return id;
     },
     "www.lab.test", CertErrorClass::untrusted_root, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, 2},
    {"untrusted_root_not_sent", [](const TestPki&) { return standard(TestPki("Other"), www()); },
     "www.lab.test", CertErrorClass::untrusted_root, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
     1},
    {"incomplete_chain_leaf_only",
     [](const TestPki& pki) {
       ServerIdentity id{pki.leaf(www()), dup(pki.leaf_key.get()), {}};
       return id;
     },
     "www.lab.test", CertErrorClass::incomplete_chain, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
     0},
    {"corrupted_leaf_signature",
     [](const TestPki& pki) {
       X509Ptr good = pki.leaf(www());
       unsigned char* der = nullptr;
       int len = i2d_X509(good.get(), &der);
       der[len - 1] ^= 0x01;  // last byte of the ECDSA signature value
       const unsigned char* p = der;
       X509Ptr bad(d2i_X509(nullptr, &p, len));
       OPENSSL_free(der);
       ServerIdentity id{std::move(bad), dup(pki.leaf_key.get()), {}};
       id.chain.push_back(dup(pki.intermediate.cert.get()));
       return id;
     },
     "www.lab.test", CertErrorClass::invalid_signature, X509_V_ERR_CERT_SIGNATURE_FAILURE, 0},
    {"leaf_signed_by_non_ca",
     [](const TestPki& pki) {
       // A valid server certificate used as if it were an intermediate.
       KeyedCert fake_ca{nullptr, testing::make_ec_key()};
       CertSpec mid = testing::server_spec("DNS:mid.lab.test");
       mid.common_name = "not a CA";
       fake_ca.cert = testing::issue(mid, fake_ca.key.get(), pki.intermediate.cert.get(),
                                     pki.intermediate.key.get());
       ServerIdentity id{
           testing::issue(www(), pki.leaf_key.get(), fake_ca.cert.get(), fake_ca.key.get()),
           dup(pki.leaf_key.get()),
           {}};
       id.chain.push_back(std::move(fake_ca.cert));
       id.chain.push_back(dup(pki.intermediate.cert.get()));
       return id;
     },
     "www.lab.test", CertErrorClass::not_a_ca, X509_V_ERR_INVALID_CA, 1},
    {"eku_client_auth_only",
     [](const TestPki& pki) {
       CertSpec s = www();
       s.ext_key_usage = "clientAuth";
       return standard(pki, s);
     },
     "www.lab.test", CertErrorClass::bad_usage, X509_V_ERR_INVALID_PURPOSE, 0},
    {"key_usage_cert_sign_only",
     [](const TestPki& pki) {
       CertSpec s = www();
       s.key_usage = "critical,keyCertSign";
       return standard(pki, s);
     },
     "www.lab.test", CertErrorClass::bad_usage, X509_V_ERR_INVALID_PURPOSE, 0},
    {"rsa1024_leaf",
     [](const TestPki& pki) {
       EvpPkeyPtr weak = testing::make_rsa_key(1024);
       ServerIdentity id{testing::issue(www(), weak.get(), pki.intermediate.cert.get(),
                                        pki.intermediate.key.get()),
                         std::move(weak),
                         {}};
       id.chain.push_back(dup(pki.intermediate.cert.get()));
       return id;
     },
     "www.lab.test", CertErrorClass::weak_key, X509_V_ERR_EE_KEY_TOO_SMALL, 0},
    {"rsa1024_intermediate",
     [](const TestPki& pki) {
       EvpPkeyPtr weak = testing::make_rsa_key(1024);
       X509Ptr mid = testing::issue(testing::ca_spec("Weak Intermediate"), weak.get(),
                                    pki.root.cert.get(), pki.root.key.get());
       ServerIdentity id{testing::issue(www(), pki.leaf_key.get(), mid.get(), weak.get()),
                         dup(pki.leaf_key.get()),
                         {}};
       id.chain.push_back(std::move(mid));
       return id;
     },
     "www.lab.test", CertErrorClass::weak_key, X509_V_ERR_CA_KEY_TOO_SMALL, 1},
    {"sha1_leaf_signature",
     [](const TestPki& pki) {
       CertSpec s = www();
       s.md = EVP_sha1();
       return standard(pki, s);
     },
     "www.lab.test", CertErrorClass::weak_signature, X509_V_ERR_CA_MD_TOO_WEAK, 0},
    {"sha1_intermediate_signature",
     [](const TestPki& pki) {
       CertSpec mid_spec = testing::ca_spec("SHA-1 Intermediate");
       mid_spec.md = EVP_sha1();
       EvpPkeyPtr mid_key = testing::make_ec_key();
       X509Ptr mid =
           testing::issue(mid_spec, mid_key.get(), pki.root.cert.get(), pki.root.key.get());
       ServerIdentity id{testing::issue(www(), pki.leaf_key.get(), mid.get(), mid_key.get()),
                         dup(pki.leaf_key.get()),
                         {}};
       id.chain.push_back(std::move(mid));
       return id;
     },
     "www.lab.test", CertErrorClass::weak_signature, X509_V_ERR_CA_MD_TOO_WEAK, 1},
    {"leaf_forged_by_the_gateway_ca",
     [](const TestPki& pki) {
       // The gateway never trusts its own CA upstream (a loop through
       // another tlsgate, or an attacker holding a copy of our leaf).
       TempDir state;
       CaStore ca = CaStore::open_or_create(state.path());
       LeafForger forger(ca);
       X509Ptr upstream = pki.leaf(www());
       auto forged = forger.forge(upstream.get());
       ServerIdentity id{dup(forged->leaf.get()), dup(forged->key.get()), {}};
       for (const X509Ptr& c : forged->chain) id.chain.push_back(dup(c.get()));
       return id;
     },
     "www.lab.test", CertErrorClass::untrusted_root, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
     1},
};

INSTANTIATE_TEST_SUITE_P(Upstream, CertificateDefect, ::testing::ValuesIn(kDefects),
                         [](const auto& test_case) { return std::string(test_case.param.name); });

struct PassCase {
  const char* name;
  ServerIdentity (*make)(const TestPki& trusted);
  const char* host;
};

void PrintTo(const PassCase& c, std::ostream* os) {
  *os << c.name;
}

class AcceptableServer : public ::testing::TestWithParam<PassCase> {
 protected:
  TempDir dir_;
  TestPki pki_;
  UpstreamVerifier verifier_{pki_.write_root_bundle(dir_.path())};
  SslCtxPtr client_ctx_ = verifier_.make_upstream_ctx();
};

TEST_P(AcceptableServer, HandshakeCompletesWithoutFailure) {
  const PassCase& c = GetParam();
  ServerIdentity server = c.make(pki_);
  SslCtxPtr server_ctx = testing::make_server_ctx(server);
  testing::UpstreamOutcome out =
      testing::connect_upstream(client_ctx_.get(), server_ctx.get(), c.host);
  EXPECT_TRUE(out.completed) << (out.recorded     ? out.recorded->detail
                                 : out.classified ? out.classified->detail
                                                  : "");
  EXPECT_FALSE(out.recorded.has_value());
}

const PassCase kPasses[] = {
    {"valid_chain", [](const TestPki& pki) { return standard(pki, www()); }, "www.lab.test"},
    {"wildcard_one_label",
     [](const TestPki& pki) { return standard(pki, testing::server_spec("DNS:*.lab.test")); },
     "a.lab.test"},
    {"ip_san",
     [](const TestPki& pki) { return standard(pki, testing::server_spec("IP:192.0.2.10")); },
     "192.0.2.10"},
    {"ipv6_san",
     [](const TestPki& pki) { return standard(pki, testing::server_spec("IP:2001:db8::10")); },
     "2001:db8::10"},
    {"rsa2048_leaf",
     [](const TestPki& pki) {
       EvpPkeyPtr key = testing::make_rsa_key(2048);
       ServerIdentity id{testing::issue(www(), key.get(), pki.intermediate.cert.get(),
                                        pki.intermediate.key.get()),
                         std::move(key),
                         {}};
       id.chain.push_back(dup(pki.intermediate.cert.get()));
       return id;
     },
     "www.lab.test"},
    {"chain_reversed_with_extra_certificates",
     [](const TestPki& pki) {
       TestPki other("Other");
       ServerIdentity id{pki.leaf(www()), dup(pki.leaf_key.get()), {}};
       id.chain.push_back(dup(other.intermediate.cert.get()));
       id.chain.push_back(dup(pki.root.cert.get()));
       id.chain.push_back(dup(pki.intermediate.cert.get()));
       return id;
     },
     "www.lab.test"},
    {"thousand_sans",
     [](const TestPki& pki) {
       std::string san;
       for (int i = 0; i < 1000; ++i) san += "DNS:h" + std::to_string(i) + ".lab.test,";
       san += "DNS:www.lab.test";
       return standard(pki, testing::server_spec(san));
     },
     "www.lab.test"},
};

INSTANTIATE_TEST_SUITE_P(Upstream, AcceptableServer, ::testing::ValuesIn(kPasses),
                         [](const auto& test_case) { return std::string(test_case.param.name); });

TEST(UpstreamVerifier, SummaryDescribesThePresentedChain) {
  TempDir dir;
  TestPki pki;
  UpstreamVerifier verifier(pki.write_root_bundle(dir.path()));
  SslCtxPtr client_ctx = verifier.make_upstream_ctx();
  ServerIdentity server = standard(pki, www());
  SslCtxPtr server_ctx = testing::make_server_ctx(server);
  testing::UpstreamOutcome out =
      testing::connect_upstream(client_ctx.get(), server_ctx.get(), "www.lab.test");
  ASSERT_TRUE(out.completed);
  EXPECT_EQ(out.peer.subject, "CN=lab server");
  EXPECT_EQ(out.peer.issuer, "CN=Lab Test Intermediate");
  unsigned char md[32];
  unsigned int len = 0;
  X509_digest(server.leaf.get(), EVP_sha256(), md, &len);
  char hex[65] = {};
  for (unsigned i = 0; i < len; ++i) std::snprintf(hex + 2 * i, 3, "%02x", md[i]);
  EXPECT_EQ(out.peer.fingerprint_sha256, hex);
  EXPECT_THAT(out.peer.chain, ElementsAre("CN=lab server", "CN=Lab Test Intermediate"));
}

TEST(UpstreamVerifier, TenThousandSansFailWithoutCrashing) {
  TempDir dir;
  TestPki pki;
  UpstreamVerifier verifier(pki.write_root_bundle(dir.path()));
  SslCtxPtr client_ctx = verifier.make_upstream_ctx();
  std::string san;
  for (int i = 0; i < 10000; ++i) san += "DNS:host-number-" + std::to_string(i) + ".lab.test,";
  san += "DNS:www.lab.test";
  ServerIdentity server = standard(pki, testing::server_spec(san));
  SslCtxPtr server_ctx = testing::make_server_ctx(server);
  testing::UpstreamOutcome out =
      testing::connect_upstream(client_ctx.get(), server_ctx.get(), "www.lab.test");
  // Over OpenSSL's 100 KiB certificate-list limit: refused as a protocol error.
  EXPECT_FALSE(out.completed);
  ASSERT_TRUE(out.classified.has_value());
  EXPECT_EQ(out.classified->error_class, CertErrorClass::bad_protocol) << out.classified->detail;
  EXPECT_THAT(out.classified->detail, ::testing::HasSubstr("excessive message size"));
}

TEST(ClassifyX509Error, IssuerUnknownDependsOnDepth) {
  EXPECT_EQ(classify_x509_error(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 0),
            CertErrorClass::incomplete_chain);
  EXPECT_EQ(classify_x509_error(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 1),
            CertErrorClass::untrusted_root);
  EXPECT_EQ(classify_x509_error(X509_V_ERR_CERT_REVOKED, 0), CertErrorClass::revoked);
  EXPECT_EQ(classify_x509_error(X509_V_ERR_KEYUSAGE_NO_CERTSIGN, 1), CertErrorClass::bad_usage);
  EXPECT_EQ(classify_x509_error(X509_V_ERR_PATH_LENGTH_EXCEEDED, 1), CertErrorClass::not_a_ca);
  EXPECT_EQ(classify_x509_error(X509_V_ERR_UNSPECIFIED, 0), CertErrorClass::other);
  EXPECT_EQ(to_string(CertErrorClass::weak_signature), "weak_signature");
  EXPECT_EQ(to_string(CertErrorClass::bad_protocol), "bad_protocol");
}

}  // namespace
}  // namespace tlsgate::tls
