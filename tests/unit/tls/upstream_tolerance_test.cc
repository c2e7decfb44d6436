// Tolerated defects (allow, untrusted_ca, a continued warning) and servers
// that ask for a client certificate (SECURITY-BATTERY case 30).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "policy/rule.h"
#include "test_pki.h"
#include "tls/openssl_text.h"
#include "upstream_handshake.h"
#include "validation/upstream_verifier.h"

namespace tlsgate::tls {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::ServerIdentity;
using testing::TempDir;
using testing::TestPki;

class ToleranceTest : public ::testing::Test {
 protected:
  TempDir dir_;
  TestPki pki_;
  UpstreamVerifier verifier_{pki_.write_root_bundle(dir_.path())};
  SslCtxPtr client_ctx_ = verifier_.make_upstream_ctx();

  ServerIdentity server(const testing::CertSpec& spec) const {
    ServerIdentity id{pki_.leaf(spec), share(pki_.leaf_key.get()), {}};
    id.chain.push_back(share(pki_.intermediate.cert.get()));
    return id;
  }
  static testing::CertSpec expired(const std::string& san) {
    testing::CertSpec spec = testing::server_spec(san);
    spec.not_before = -48h;
    spec.not_after = -24h;
    return spec;
  }
};

TEST_F(ToleranceTest, ToleratedDefectCompletesTheHandshakeAndStaysRecorded) {
  ServerIdentity id = server(expired("DNS:www.lab.test"));
  SslCtxPtr server_ctx = testing::make_server_ctx(id);
  std::vector<CertErrorClass> asked;
  std::string leaf_seen;
  FailureTolerance allow_expired = [&](const VerifyFailure& f, std::string_view leaf) {
    asked.push_back(f.error_class);
    leaf_seen = leaf;
    return f.error_class == CertErrorClass::expired;
  };
  auto out = testing::connect_upstream(client_ctx_.get(), server_ctx.get(), "www.lab.test", true,
                                       &allow_expired);
  EXPECT_TRUE(out.completed);
  ASSERT_TRUE(out.recorded.has_value());
  EXPECT_EQ(out.recorded->error_class, CertErrorClass::expired);
  EXPECT_THAT(asked, ::testing::Contains(CertErrorClass::expired));
  // The hook sees the leaf, so a continue exception can be bound to it.
  EXPECT_EQ(leaf_seen, sha256_fingerprint(id.leaf.get()));
}

TEST_F(ToleranceTest, WithoutToleranceTheSameDefectAborts) {
  SslCtxPtr server_ctx = testing::make_server_ctx(server(expired("DNS:www.lab.test")));
  auto out = testing::connect_upstream(client_ctx_.get(), server_ctx.get(), "www.lab.test");
  EXPECT_FALSE(out.completed);
  EXPECT_FALSE(out.server_completed);
  EXPECT_EQ(out.classified->error_class, CertErrorClass::expired);
}

TEST_F(ToleranceTest, EveryDefectMustBeToleratedTheRefusedOneIsTheReason) {
  // Expired AND for another host: allowing "expired" does not let it through.
  SslCtxPtr server_ctx = testing::make_server_ctx(server(expired("DNS:other.lab.test")));
  FailureTolerance allow_expired = [](const VerifyFailure& f, std::string_view) {
    return f.error_class == CertErrorClass::expired;
  };
  auto out = testing::connect_upstream(client_ctx_.get(), server_ctx.get(), "www.lab.test", true,
                                       &allow_expired);
  EXPECT_FALSE(out.completed);
  EXPECT_FALSE(out.server_completed);
  ASSERT_TRUE(out.classified.has_value());
  EXPECT_EQ(out.classified->error_class, CertErrorClass::hostname_mismatch);
}

TEST_F(ToleranceTest, ThrowingToleranceRefuses) {
  SslCtxPtr server_ctx = testing::make_server_ctx(server(expired("DNS:www.lab.test")));
  FailureTolerance broken = [](const VerifyFailure&, std::string_view) -> bool {
    throw std::runtime_error("policy lookup failed");
  };
  auto out =
      testing::connect_upstream(client_ctx_.get(), server_ctx.get(), "www.lab.test", true, &broken);
  EXPECT_FALSE(out.completed);
  EXPECT_EQ(out.classified->error_class, CertErrorClass::expired);
}

TEST_F(ToleranceTest, ValidServerNeverAsksTheTolerance) {
  SslCtxPtr server_ctx = testing::make_server_ctx(server(testing::server_spec("DNS:www.lab.test")));
  int calls = 0;
  FailureTolerance count = [&](const VerifyFailure&, std::string_view) {
    ++calls;
    return true;
  };
  auto out =
      testing::connect_upstream(client_ctx_.get(), server_ctx.get(), "www.lab.test", true, &count);
  EXPECT_TRUE(out.completed);
  EXPECT_FALSE(out.recorded.has_value());
  EXPECT_EQ(calls, 0);
}

int accept_any_client_cert(int, X509_STORE_CTX*) {
  return 1;
}

struct ClientCertCase {
  const char* name;
  int verify_mode;
  int max_version;
};

class ClientCertRequest : public ToleranceTest,
                          public ::testing::WithParamInterface<ClientCertCase> {};

TEST_P(ClientCertRequest, IsClassifiedAndNoCertificateIsSent) {
  const ClientCertCase& c = GetParam();
  SslCtxPtr server_ctx = testing::make_server_ctx(server(testing::server_spec("DNS:www.lab.test")));
  SSL_CTX_set_verify(server_ctx.get(), c.verify_mode, accept_any_client_cert);
  SSL_CTX_set_max_proto_version(server_ctx.get(), c.max_version);
  auto out = testing::connect_upstream(client_ctx_.get(), server_ctx.get(), "www.lab.test");
  EXPECT_FALSE(out.completed);
  // The server never got our Finished, so it never read a request byte.
  EXPECT_FALSE(out.server_completed);
  ASSERT_TRUE(out.classified.has_value());
  EXPECT_EQ(out.classified->error_class, CertErrorClass::client_cert_required);
  EXPECT_THAT(out.classified->detail, HasSubstr("client certificate"));
}

INSTANTIATE_TEST_SUITE_P(
    Servers, ClientCertRequest,
    ::testing::Values(ClientCertCase{"Tls13Required",
                                     SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                                     TLS1_3_VERSION},
                      ClientCertCase{"Tls12Required",
                                     SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                                     TLS1_2_VERSION},
                      // Optional requests too: the gateway cannot know whether the site
                      // would work without the user's certificate (a bypass rule does).
                      ClientCertCase{"Tls13Optional", SSL_VERIFY_PEER, TLS1_3_VERSION}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(ToleranceTest, InvalidServerCertificateIsReportedBeforeAClientCertRequest) {
  SslCtxPtr server_ctx = testing::make_server_ctx(server(expired("DNS:www.lab.test")));
  SSL_CTX_set_verify(server_ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     accept_any_client_cert);
  auto out = testing::connect_upstream(client_ctx_.get(), server_ctx.get(), "www.lab.test");
  EXPECT_EQ(out.classified->error_class, CertErrorClass::expired);
}

TEST(CertErrorClassNames, PolicyKnowsExactlyTheTlsClasses) {
  std::vector<std::string> tls_names;
  for (CertErrorClass c : all_cert_error_classes()) tls_names.emplace_back(to_string(c));
  std::vector<std::string> policy_names(policy::cert_error_class_names().begin(),
                                        policy::cert_error_class_names().end());
  EXPECT_EQ(tls_names, policy_names);
  // Names are unique and distinct from "other" except for other itself.
  std::set<std::string> unique(tls_names.begin(), tls_names.end());
  EXPECT_EQ(unique.size(), tls_names.size());
}

TEST(CertErrorClassNames, HandshakeFailureClassesAreTheOnesWithoutASession) {
  EXPECT_TRUE(policy::is_handshake_failure_class(to_string(CertErrorClass::bad_protocol)));
  EXPECT_TRUE(policy::is_handshake_failure_class(to_string(CertErrorClass::client_cert_required)));
  EXPECT_TRUE(policy::is_handshake_failure_class(to_string(CertErrorClass::no_certificate)));
  EXPECT_FALSE(policy::is_handshake_failure_class(to_string(CertErrorClass::expired)));
}

TEST(CertErrorClassNames, CrlErrorsAreRevocationUnknown) {
  for (int e : {X509_V_ERR_UNABLE_TO_GET_CRL, X509_V_ERR_CRL_HAS_EXPIRED,
                X509_V_ERR_CRL_SIGNATURE_FAILURE}) {
    EXPECT_EQ(classify_x509_error(e, 0), CertErrorClass::revocation_unknown) << e;
  }
  EXPECT_EQ(classify_x509_error(X509_V_ERR_CERT_REVOKED, 0), CertErrorClass::revoked);
}

}  // namespace
}  // namespace tlsgate::tls
