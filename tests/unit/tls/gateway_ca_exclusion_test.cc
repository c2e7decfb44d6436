// The gateway never accepts its own CAs upstream (issue 14.4b): a chain that
// contains a gateway CA — as the anchor, as an intermediate, through a
// cross-certificate, or as another certificate for the same key — fails as
// `untrusted_root` even with that CA in the trust store, and no tolerance
// lets it through.
#include "validation/gateway_ca_exclusion.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "ca_test_support.h"
#include "test_pki.h"
#include "upstream_handshake.h"
#include "validation/upstream_verifier.h"

namespace tlsgate::tls {
namespace {

using ::testing::HasSubstr;
using testing::ServerIdentity;
using testing::TempDir;
using testing::TestPki;

class GatewayCaUpstream : public ::testing::Test {
 protected:
  TempDir dir_;
  TestPki pki_;  // stands in for the gateway CA an administrator installed system-wide
  UpstreamVerifier verifier_{pki_.write_root_bundle(dir_.path())};
  SslCtxPtr client_ctx_ = verifier_.make_upstream_ctx();

  ServerIdentity server() const {
    ServerIdentity id{
        pki_.leaf(testing::server_spec("DNS:www.lab.test")), share(pki_.leaf_key.get()), {}};
    id.chain.push_back(share(pki_.intermediate.cert.get()));
    return id;
  }

  testing::UpstreamOutcome connect(const ServerIdentity& id,
                                   const FailureTolerance* tolerance = nullptr) {
    SslCtxPtr server_ctx = testing::make_server_ctx(id);
    return testing::connect_upstream(client_ctx_.get(), server_ctx.get(), "www.lab.test", true,
                                     tolerance);
  }

  void exclude(const std::vector<X509*>& certs) {
    auto cas = std::make_shared<GatewayCaExclusion>();
    for (X509* c : certs) cas->add(c, "gateway CA default.1");
    verifier_.exclude_gateway_cas(std::move(cas));
  }

  static void expect_refused(const testing::UpstreamOutcome& out, int depth,
                             const std::string& why) {
    EXPECT_FALSE(out.completed);
    EXPECT_FALSE(out.server_completed);  // no request byte could follow
    ASSERT_TRUE(out.recorded.has_value());
    EXPECT_EQ(out.recorded->error_class, CertErrorClass::untrusted_root);
    EXPECT_EQ(out.recorded->x509_error, X509_V_ERR_CERT_REJECTED);
    EXPECT_EQ(out.recorded->depth, depth);
    EXPECT_THAT(out.recorded->detail, HasSubstr("gateway's own CA"));
    EXPECT_THAT(out.recorded->detail, HasSubstr(why));
    ASSERT_TRUE(out.classified.has_value());
    EXPECT_EQ(out.classified->error_class, CertErrorClass::untrusted_root);
  }
};

TEST_F(GatewayCaUpstream, WithoutGatewayCasTheChainPasses) {
  EXPECT_TRUE(connect(server()).completed);
  exclude({});
  EXPECT_TRUE(connect(server()).completed);
}

TEST_F(GatewayCaUpstream, AnchorInTheTrustStoreIsRefused) {
  exclude({pki_.root.cert.get()});
  expect_refused(connect(server()), 2, "same certificate");
}

TEST_F(GatewayCaUpstream, GatewayIntermediateIsRefused) {
  exclude({pki_.intermediate.cert.get()});
  expect_refused(connect(server()), 1, "same certificate");
}

TEST_F(GatewayCaUpstream, AnotherCertificateForTheGatewayKeyIsRefused) {
  // A re-issued root: other name, other serial, the gateway's key.
  X509Ptr reissued = testing::issue(testing::ca_spec("Reissued Root"), pki_.root.key.get(), nullptr,
                                    pki_.root.key.get());
  exclude({reissued.get()});
  expect_refused(connect(server()), 2, "same public key");
}

TEST_F(GatewayCaUpstream, NoToleranceLetsItThrough) {
  exclude({pki_.root.cert.get()});
  FailureTolerance allow_everything = [](const VerifyFailure&, std::string_view) { return true; };
  expect_refused(connect(server(), &allow_everything), 2, "same certificate");
}

TEST_F(GatewayCaUpstream, ACrossCertificateOfTheGatewayRootIsRefused) {
  // The store trusts only another root, which cross-signed the gateway root;
  // the server sends leaf, intermediate and the cross-certificate.
  testing::EnterpriseRoot other("Other Root");
  X509Ptr cross = testing::cross_certify(pki_.root.cert.get(), other.root);
  const auto bundle = dir_.path() / "other.pem";
  std::ofstream(bundle) << testing::cert_pem(other.root.cert.get());
  UpstreamVerifier verifier{bundle};
  SslCtxPtr client_ctx = verifier.make_upstream_ctx();
  ServerIdentity id = server();
  id.chain.push_back(share(cross.get()));
  SslCtxPtr server_ctx = testing::make_server_ctx(id);
  auto connect_other = [&] {
    return testing::connect_upstream(client_ctx.get(), server_ctx.get(), "www.lab.test");
  };
  ASSERT_TRUE(connect_other().completed);  // a valid chain through the cross-certificate

  auto by_root = std::make_shared<GatewayCaExclusion>();
  by_root->add(pki_.root.cert.get(), "gateway CA default.1");
  verifier.exclude_gateway_cas(by_root);
  expect_refused(connect_other(), 2, "same public key");

  auto by_cross = std::make_shared<GatewayCaExclusion>();
  by_cross->add(cross.get(), "gateway CA default.1");
  verifier.exclude_gateway_cas(by_cross);
  expect_refused(connect_other(), 2, "same certificate");
}

TEST_F(GatewayCaUpstream, ANewSetAppliesToContextsMadeBefore) {
  EXPECT_TRUE(connect(server()).completed);
  exclude({pki_.root.cert.get()});  // e.g. `tlsgatectl ca import` while running
  expect_refused(connect(server()), 2, "same certificate");
}

TEST(GatewayCaExclusionTest, MatchesByCertificateOrByKeyOnly) {
  TestPki gateway("Gateway");
  TestPki other("Other");
  GatewayCaExclusion cas;
  EXPECT_TRUE(cas.empty());
  cas.add(gateway.root.cert.get(), "gateway CA default.1");
  EXPECT_EQ(cas.certificates(), 1u);
  EXPECT_EQ(cas.match(gateway.root.cert.get()), "gateway CA default.1, same certificate");
  EXPECT_FALSE(cas.match(other.root.cert.get()).has_value());
  EXPECT_FALSE(cas.match(gateway.intermediate.cert.get()).has_value());
  EXPECT_EQ(public_key_sha256(gateway.root.cert.get()).size(), 64u);
  EXPECT_NE(public_key_sha256(gateway.root.cert.get()), public_key_sha256(other.root.cert.get()));
}

}  // namespace
}  // namespace tlsgate::tls
