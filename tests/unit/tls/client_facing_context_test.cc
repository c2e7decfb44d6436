// The client-facing TLS side (SECURITY-BATTERY cases 24 and 25): clients get
// the forged leaf, modern parameters only, and exactly the upstream's ALPN.
#include "forging/client_facing_context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ca/ca_store.h"
#include "in_memory_tls.h"
#include "test_pki.h"

namespace tlsgate::tls {
namespace {

using testing::InMemoryTls;
using testing::TempDir;

class ClientFacing : public ::testing::Test {
 protected:
  TempDir dir_;
  CaStore ca_ = CaStore::open_or_create(dir_.path());
  LeafForger forger_{ca_};
  testing::TestPki upstream_pki_;
  X509Ptr upstream_ = upstream_pki_.leaf(testing::server_spec("DNS:www.lab.test"));
  std::shared_ptr<const ForgedCert> forged_ = forger_.forge(upstream_.get());
  SslCtxPtr server_ctx_ = make_client_facing_ctx();

  // A browser that trusts the gateway root (installed by the administrator).
  SslCtxPtr client_ctx(int max_version = TLS1_3_VERSION) const {
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca_.root());
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_max_proto_version(ctx.get(), max_version);
    return ctx;
  }

  void prepare(InMemoryTls& tls, const std::string* alpn_choice) const {
    set_forged_identity(tls.server(), *forged_);
    set_alpn_choice(tls.server(), alpn_choice);
    SSL_set1_host(tls.client(), "www.lab.test");
    SSL_set_tlsext_host_name(tls.client(), "www.lab.test");
  }

  static void offer_alpn(SSL* client, const std::vector<std::string>& protocols) {
    std::string wire;
    for (const std::string& p : protocols) {
      wire += static_cast<char>(p.size());
      wire += p;
    }
    SSL_set_alpn_protos(client, reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }

  static std::string selected_alpn(SSL* client) {
    const unsigned char* data = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(client, &data, &len);
    return std::string(reinterpret_cast<const char*>(data), len);
  }
};

TEST_F(ClientFacing, ClientSeesAndVerifiesTheForgedLeaf) {
  SslCtxPtr client = client_ctx();
  InMemoryTls tls(client.get(), server_ctx_.get());
  prepare(tls, nullptr);
  ASSERT_TRUE(tls.handshake());
  X509* seen = SSL_get0_peer_certificate(tls.client());
  ASSERT_NE(seen, nullptr);
  EXPECT_EQ(X509_cmp(seen, forged_->leaf.get()), 0);
  EXPECT_NE(X509_cmp(seen, upstream_.get()), 0);
  EXPECT_EQ(SSL_get_verify_result(tls.client()), X509_V_OK);
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(tls.client());
  ASSERT_EQ(sk_X509_num(chain), 2);
  EXPECT_EQ(X509_cmp(sk_X509_value(chain, 1), ca_.signer()), 0);
  EXPECT_EQ(SSL_version(tls.client()), TLS1_3_VERSION);
}

TEST_F(ClientFacing, Tls12ClientGetsEcdheWithAead) {
  SslCtxPtr client = client_ctx(TLS1_2_VERSION);
  InMemoryTls tls(client.get(), server_ctx_.get());
  prepare(tls, nullptr);
  ASSERT_TRUE(tls.handshake());
  const SSL_CIPHER* cipher = SSL_get_current_cipher(tls.client());
  EXPECT_EQ(SSL_version(tls.client()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CIPHER_get_kx_nid(cipher), NID_kx_ecdhe);
  EXPECT_TRUE(SSL_CIPHER_is_aead(cipher));
  EXPECT_EQ(SSL_get_current_compression(tls.client()), nullptr);
}

TEST_F(ClientFacing, ClientLimitedToTls11IsRefused) {
  SslCtxPtr client = client_ctx(TLS1_1_VERSION);
  SSL_CTX_set_security_level(client.get(), 0);
  SSL_CTX_set_cipher_list(client.get(), "DEFAULT:@SECLEVEL=0");
  InMemoryTls tls(client.get(), server_ctx_.get());
  prepare(tls, nullptr);
  EXPECT_FALSE(tls.handshake());
  EXPECT_FALSE(tls.server_done());
  EXPECT_EQ(tls.server_reason(), SSL_R_UNSUPPORTED_PROTOCOL);
}

TEST_F(ClientFacing, ClientOfferingOnlyCbcCiphersIsRefused) {
  SslCtxPtr client = client_ctx(TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(client.get(), "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384");
  InMemoryTls tls(client.get(), server_ctx_.get());
  prepare(tls, nullptr);
  EXPECT_FALSE(tls.handshake());
  EXPECT_EQ(tls.server_reason(), SSL_R_NO_SHARED_CIPHER);
}

TEST_F(ClientFacing, NoSessionTicketIsIssued) {
  SslCtxPtr client = client_ctx();
  SSL_CTX_set_session_cache_mode(client.get(), SSL_SESS_CACHE_CLIENT);
  InMemoryTls tls(client.get(), server_ctx_.get());
  prepare(tls, nullptr);
  ASSERT_TRUE(tls.handshake());
  // Tickets arrive after the handshake in TLS 1.3: let the client read them.
  unsigned char byte = 0;
  EXPECT_LE(SSL_read(tls.client(), &byte, 1), 0);
  EXPECT_EQ(SSL_get_error(tls.client(), -1), SSL_ERROR_WANT_READ);
  ERR_clear_error();
  SSL_SESSION* session = SSL_get0_session(tls.client());
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(SSL_SESSION_has_ticket(session), 0);
  EXPECT_EQ(SSL_SESSION_is_resumable(session), 0);
}

struct AlpnCase {
  const char* name;
  const char* choice;  // nullptr: no choice set
  std::vector<std::string> offered;
  const char* expected;
};

void PrintTo(const AlpnCase& c, std::ostream* os) {
  *os << c.name;
}

class ClientFacingAlpn : public ClientFacing, public ::testing::WithParamInterface<AlpnCase> {};

TEST_P(ClientFacingAlpn, SelectsExactlyTheUpstreamChoice) {
  const AlpnCase& c = GetParam();
  std::string choice = c.choice ? c.choice : "";
  SslCtxPtr client = client_ctx();
  InMemoryTls tls(client.get(), server_ctx_.get());
  prepare(tls, c.choice ? &choice : nullptr);
  offer_alpn(tls.client(), c.offered);
  ASSERT_TRUE(tls.handshake());
  EXPECT_EQ(selected_alpn(tls.client()), c.expected);
  EXPECT_EQ(selected_alpn(tls.server()), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Choices, ClientFacingAlpn,
    ::testing::Values(AlpnCase{"upstream_h2", "h2", {"h2", "http/1.1"}, "h2"},
                      AlpnCase{"upstream_http11", "http/1.1", {"h2", "http/1.1"}, "http/1.1"},
                      AlpnCase{"upstream_none", nullptr, {"h2", "http/1.1"}, ""},
                      AlpnCase{"upstream_empty", "", {"h2", "http/1.1"}, ""},
                      AlpnCase{"not_offered_by_client", "h2", {"http/1.1"}, ""},
                      AlpnCase{"client_offers_nothing", "h2", {}, ""}),
    [](const auto& test_case) { return std::string(test_case.param.name); });

TEST_F(ClientFacing, RenegotiationIsRefused) {
  SslCtxPtr client = client_ctx(TLS1_2_VERSION);
  InMemoryTls tls(client.get(), server_ctx_.get());
  prepare(tls, nullptr);
  ASSERT_TRUE(tls.handshake());
  EXPECT_FALSE(tls.renegotiate());
  EXPECT_EQ(tls.client_reason(), SSL_R_NO_RENEGOTIATION);
  EXPECT_EQ(SSL_num_renegotiations(tls.server()), 0);
}

TEST_F(ClientFacing, ContextIsSharedAcrossConnectionsWithDifferentIdentities) {
  // One SSL_CTX, per-connection leaves: the second connection must not see
  // the first one's identity.
  X509Ptr other_upstream = upstream_pki_.leaf(testing::server_spec("DNS:other.lab.test"));
  auto other = forger_.forge(other_upstream.get());
  SslCtxPtr client = client_ctx();
  InMemoryTls first(client.get(), server_ctx_.get());
  prepare(first, nullptr);
  InMemoryTls second(client.get(), server_ctx_.get());
  set_forged_identity(second.server(), *other);
  SSL_set1_host(second.client(), "other.lab.test");
  ASSERT_TRUE(first.handshake());
  ASSERT_TRUE(second.handshake());
  EXPECT_EQ(X509_cmp(SSL_get0_peer_certificate(first.client()), forged_->leaf.get()), 0);
  EXPECT_EQ(X509_cmp(SSL_get0_peer_certificate(second.client()), other->leaf.get()), 0);
}

TEST_F(ClientFacing, SettingTheIdentityAgainReplacesIt) {
  X509Ptr other_upstream = upstream_pki_.leaf(testing::server_spec("DNS:other.lab.test"));
  auto other = forger_.forge(other_upstream.get());
  SslCtxPtr client = client_ctx();
  InMemoryTls tls(client.get(), server_ctx_.get());
  set_forged_identity(tls.server(), *forged_);
  set_forged_identity(tls.server(), *other);
  SSL_set1_host(tls.client(), "other.lab.test");
  ASSERT_TRUE(tls.handshake());
  EXPECT_EQ(X509_cmp(SSL_get0_peer_certificate(tls.client()), other->leaf.get()), 0);
  EXPECT_EQ(sk_X509_num(SSL_get_peer_cert_chain(tls.client())), 2);  // leaf + intermediate
}

}  // namespace
}  // namespace tlsgate::tls
