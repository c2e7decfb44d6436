// Stapled OCSP (SECURITY-BATTERY case 12): a revoked status blocks as
// `revoked`; a staple that cannot be trusted blocks; no staple passes unless
// the leaf is must-staple (TLS Feature status_request): `revocation_unknown`.
#include <openssl/ocsp.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "in_memory_tls.h"
#include "test_pki.h"
#include "upstream_handshake.h"
#include "validation/stapled_ocsp.h"
#include "validation/upstream_verifier.h"

namespace tlsgate::tls {
namespace {

using namespace std::chrono_literals;
using testing::ServerIdentity;
using testing::TempDir;
using testing::TestPki;

class StapledOcsp : public ::testing::Test {
 protected:
  TempDir dir_;
  TestPki pki_;
  UpstreamVerifier verifier_{pki_.write_root_bundle(dir_.path())};
  SslCtxPtr client_ctx_ = verifier_.make_upstream_ctx();
  ServerIdentity server_{
      pki_.leaf(testing::server_spec("DNS:www.lab.test")), share(pki_.leaf_key.get()), {}};
  SslCtxPtr server_ctx_;
  std::string staple_;

  void SetUp() override {
    server_.chain.push_back(share(pki_.intermediate.cert.get()));
    server_ctx_ = testing::make_server_ctx(server_);
  }

  testing::UpstreamOutcome connect_with_staple(std::string der) {
    staple_ = std::move(der);
    testing::staple_ocsp(server_ctx_.get(), &staple_);
    return testing::connect_upstream(client_ctx_.get(), server_ctx_.get(), "www.lab.test");
  }

  std::string response_by_issuer(int status, std::chrono::seconds next_update = 24h) const {
    return testing::make_ocsp_response(server_.leaf.get(), pki_.intermediate.cert.get(),
                                       pki_.intermediate.cert.get(), pki_.intermediate.key.get(),
                                       status, next_update);
  }
};

TEST_F(StapledOcsp, RevokedStatusBlocksAsRevoked) {
  auto out = connect_with_staple(response_by_issuer(V_OCSP_CERTSTATUS_REVOKED));
  EXPECT_FALSE(out.completed);
  EXPECT_FALSE(out.server_completed);
  ASSERT_TRUE(out.recorded.has_value());
  EXPECT_EQ(out.recorded->error_class, CertErrorClass::revoked);
  EXPECT_EQ(out.recorded->x509_error, X509_V_ERR_CERT_REVOKED);
  EXPECT_THAT(out.recorded->detail, ::testing::HasSubstr("keyCompromise"));
  ASSERT_TRUE(out.classified.has_value());
  EXPECT_EQ(out.classified->error_class, CertErrorClass::revoked);
}

TEST_F(StapledOcsp, RevokedStatusBlocksOverTls12Too) {
  SSL_CTX_set_max_proto_version(server_ctx_.get(), TLS1_2_VERSION);
  auto out = connect_with_staple(response_by_issuer(V_OCSP_CERTSTATUS_REVOKED));
  EXPECT_FALSE(out.completed);
  ASSERT_TRUE(out.recorded.has_value());
  EXPECT_EQ(out.recorded->error_class, CertErrorClass::revoked);
}

TEST_F(StapledOcsp, ToleranceIsAskedForARevokedStapleToo) {
  // A policy that allows "revoked" (or a continued warning) lets it through;
  // the defect stays recorded for the event.
  staple_ = response_by_issuer(V_OCSP_CERTSTATUS_REVOKED);
  testing::staple_ocsp(server_ctx_.get(), &staple_);
  FailureTolerance allow_revoked = [](const VerifyFailure& f, std::string_view) {
    return f.error_class == CertErrorClass::revoked;
  };
  auto out = testing::connect_upstream(client_ctx_.get(), server_ctx_.get(), "www.lab.test", true,
                                       &allow_revoked);
  EXPECT_TRUE(out.completed);
  ASSERT_TRUE(out.recorded.has_value());
  EXPECT_EQ(out.recorded->error_class, CertErrorClass::revoked);
}

TEST_F(StapledOcsp, GoodStatusPasses) {
  auto out = connect_with_staple(response_by_issuer(V_OCSP_CERTSTATUS_GOOD));
  EXPECT_TRUE(out.completed);
  EXPECT_FALSE(out.recorded.has_value());
}

TEST_F(StapledOcsp, NoStaplePasses) {
  auto out = testing::connect_upstream(client_ctx_.get(), server_ctx_.get(), "www.lab.test");
  EXPECT_TRUE(out.completed);
  EXPECT_FALSE(out.recorded.has_value());
}

TEST_F(StapledOcsp, StapleSignedByAnUnrelatedKeyBlocks) {
  TestPki other("Other");
  auto out = connect_with_staple(testing::make_ocsp_response(
      server_.leaf.get(), pki_.intermediate.cert.get(), other.intermediate.cert.get(),
      other.intermediate.key.get(), V_OCSP_CERTSTATUS_GOOD, 24h));
  EXPECT_FALSE(out.completed);
  ASSERT_TRUE(out.recorded.has_value());
  EXPECT_EQ(out.recorded->error_class, CertErrorClass::other);
  EXPECT_EQ(out.recorded->x509_error, X509_V_ERR_OCSP_VERIFY_FAILED);
}

TEST_F(StapledOcsp, OutdatedStapleBlocks) {
  auto out = connect_with_staple(response_by_issuer(V_OCSP_CERTSTATUS_GOOD, -30min));
  EXPECT_FALSE(out.completed);
  ASSERT_TRUE(out.recorded.has_value());
  EXPECT_THAT(out.recorded->detail, ::testing::HasSubstr("outdated"));
}

TEST_F(StapledOcsp, StapleForAnotherCertificateBlocks) {
  X509Ptr other_leaf = pki_.leaf(testing::server_spec("DNS:other.lab.test"));
  auto out = connect_with_staple(testing::make_ocsp_response(
      other_leaf.get(), pki_.intermediate.cert.get(), pki_.intermediate.cert.get(),
      pki_.intermediate.key.get(), V_OCSP_CERTSTATUS_GOOD, 24h));
  EXPECT_FALSE(out.completed);
  ASSERT_TRUE(out.recorded.has_value());
  EXPECT_THAT(out.recorded->detail, ::testing::HasSubstr("does not cover"));
}

class MustStaple : public StapledOcsp {
 protected:
  void SetUp() override {
    server_.leaf = pki_.leaf(must_staple_spec("status_request"));
    StapledOcsp::SetUp();
  }

  static testing::CertSpec must_staple_spec(const std::string& features) {
    testing::CertSpec spec = testing::server_spec("DNS:www.lab.test");
    spec.extra.emplace_back(NID_tlsfeature, features);
    return spec;
  }
};

TEST_F(MustStaple, LeafWithoutStapleIsRevocationUnknown) {
  auto out = testing::connect_upstream(client_ctx_.get(), server_ctx_.get(), "www.lab.test");
  EXPECT_FALSE(out.completed);
  EXPECT_FALSE(out.server_completed);
  ASSERT_TRUE(out.recorded.has_value());
  EXPECT_EQ(out.recorded->error_class, CertErrorClass::revocation_unknown);
  EXPECT_EQ(out.recorded->x509_error, X509_V_ERR_OCSP_VERIFY_NEEDED);
  EXPECT_THAT(out.recorded->detail, ::testing::HasSubstr("must-staple"));
  ASSERT_TRUE(out.classified.has_value());
  EXPECT_EQ(out.classified->error_class, CertErrorClass::revocation_unknown);
  EXPECT_EQ(classify_x509_error(X509_V_ERR_OCSP_VERIFY_NEEDED, 0),
            CertErrorClass::revocation_unknown);
}

TEST_F(MustStaple, LeafWithoutStapleOverTls12Too) {
  SSL_CTX_set_max_proto_version(server_ctx_.get(), TLS1_2_VERSION);
  auto out = testing::connect_upstream(client_ctx_.get(), server_ctx_.get(), "www.lab.test");
  EXPECT_FALSE(out.completed);
  ASSERT_TRUE(out.recorded.has_value());
  EXPECT_EQ(out.recorded->error_class, CertErrorClass::revocation_unknown);
}

TEST_F(MustStaple, GoodStaplePasses) {
  auto out = connect_with_staple(response_by_issuer(V_OCSP_CERTSTATUS_GOOD));
  EXPECT_TRUE(out.completed);
  EXPECT_FALSE(out.recorded.has_value());
}

TEST_F(MustStaple, RevokedStapleStillBlocksAsRevoked) {
  auto out = connect_with_staple(response_by_issuer(V_OCSP_CERTSTATUS_REVOKED));
  EXPECT_FALSE(out.completed);
  ASSERT_TRUE(out.recorded.has_value());
  EXPECT_EQ(out.recorded->error_class, CertErrorClass::revoked);
}

TEST_F(MustStaple, PolicyAllowingRevocationUnknownLetsItThrough) {
  FailureTolerance allow_unknown = [](const VerifyFailure& f, std::string_view) {
    return f.error_class == CertErrorClass::revocation_unknown;
  };
  auto out = testing::connect_upstream(client_ctx_.get(), server_ctx_.get(), "www.lab.test", true,
                                       &allow_unknown);
  EXPECT_TRUE(out.completed);
  ASSERT_TRUE(out.recorded.has_value());  // still reported in the event
  EXPECT_EQ(out.recorded->error_class, CertErrorClass::revocation_unknown);
}

TEST_F(MustStaple, OnlyStatusRequestMakesALeafMustStaple) {
  EXPECT_TRUE(requires_stapled_ocsp(server_.leaf.get()));
  EXPECT_TRUE(
      requires_stapled_ocsp(pki_.leaf(must_staple_spec("status_request_v2,status_request")).get()));
  EXPECT_FALSE(requires_stapled_ocsp(pki_.leaf(must_staple_spec("status_request_v2")).get()));
  EXPECT_FALSE(requires_stapled_ocsp(pki_.leaf(testing::server_spec("DNS:www.lab.test")).get()));
}

}  // namespace
}  // namespace tlsgate::tls
