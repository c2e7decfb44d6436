// Upstream session resumption (tls/upstream_sessions.h): only an upstream
// that validated cleanly is resumed, only by the same (server, host), and a
// resumed session still carries the validated certificate.
#include "validation/upstream_sessions.h"

#include <gtest/gtest.h>

#include "in_memory_tls.h"
#include "test_pki.h"
#include "upstream_handshake.h"
#include "validation/upstream_verifier.h"

namespace tlsgate::tls {
namespace {

using namespace std::chrono_literals;
using testing::InMemoryTls;
using testing::ServerIdentity;
using testing::TempDir;
using testing::TestPki;

constexpr const char* kServer = "192.0.2.10:443";
constexpr const char* kHost = "www.lab.test";

struct Outcome {
  bool completed = false;
  bool resumed = false;
  X509Ptr peer;
};

class UpstreamSessions : public ::testing::Test {
 protected:
  TempDir dir_;
  TestPki pki_;
  UpstreamVerifier verifier_{pki_.write_root_bundle(dir_.path())};
  SslCtxPtr client_ctx_ = verifier_.make_upstream_ctx();
  X509Ptr leaf_ = pki_.leaf(testing::server_spec("DNS:www.lab.test,DNS:other.lab.test"));

  SslCtxPtr server_ctx(int max_version = TLS1_3_VERSION) const {
    ServerIdentity id{share(leaf_.get()), share(pki_.leaf_key.get()), {}};
    id.chain.push_back(share(pki_.intermediate.cert.get()));
    SslCtxPtr ctx = testing::make_server_ctx(id);
    SSL_CTX_set_max_proto_version(ctx.get(), max_version);
    return ctx;
  }

  // One upstream connection as the terminator makes it; `validated`: the
  // terminator found it clean (chain, host, revocation).
  Outcome connect(SSL_CTX* client, SSL_CTX* server, bool validated,
                  const char* server_key = kServer, const char* host = kHost) const {
    std::optional<VerifyFailure> sink;
    Outcome out;
    InMemoryTls tls(client, server);
    UpstreamVerifier::prepare(tls.client(), host, true, &sink);
    offer_upstream_session(tls.client(), server_key, host);
    out.completed = tls.handshake() && !sink.has_value();
    if (!out.completed) return out;
    out.resumed = SSL_session_reused(tls.client()) == 1;
    out.peer = share(SSL_get0_peer_certificate(tls.client()));
    if (validated) upstream_session_validated(tls.client());
    // TLS 1.3 tickets arrive after the handshake, with the first read.
    unsigned char byte = 0;
    EXPECT_LE(SSL_read(tls.client(), &byte, 1), 0);
    return out;
  }
};

TEST_F(UpstreamSessions, Tls13ValidatedUpstreamIsResumedWithItsCertificate) {
  SslCtxPtr server = server_ctx();
  Outcome first = connect(client_ctx_.get(), server.get(), true);
  ASSERT_TRUE(first.completed);
  EXPECT_FALSE(first.resumed);
  EXPECT_GE(upstream_sessions_cached(client_ctx_.get()), 1u);

  Outcome second = connect(client_ctx_.get(), server.get(), true);
  ASSERT_TRUE(second.completed);
  EXPECT_TRUE(second.resumed);
  ASSERT_TRUE(second.peer);
  // The forged-certificate cache key (the upstream leaf) does not change.
  EXPECT_EQ(X509_cmp(second.peer.get(), leaf_.get()), 0);
}

TEST_F(UpstreamSessions, Tls12ValidatedUpstreamIsResumed) {
  SslCtxPtr server = server_ctx(TLS1_2_VERSION);
  ASSERT_TRUE(connect(client_ctx_.get(), server.get(), true).completed);
  Outcome second = connect(client_ctx_.get(), server.get(), true);
  ASSERT_TRUE(second.completed);
  EXPECT_TRUE(second.resumed);
  EXPECT_EQ(X509_cmp(second.peer.get(), leaf_.get()), 0);
}

TEST_F(UpstreamSessions, UpstreamNotFoundCleanIsNeverResumed) {
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SslCtxPtr client = verifier_.make_upstream_ctx();
    SslCtxPtr server = server_ctx(version);
    ASSERT_TRUE(connect(client.get(), server.get(), false).completed);
    EXPECT_EQ(upstream_sessions_cached(client.get()), 0u);
    Outcome second = connect(client.get(), server.get(), false);
    ASSERT_TRUE(second.completed);
    EXPECT_FALSE(second.resumed) << "version " << version;
  }
}

TEST_F(UpstreamSessions, OnlyTheSameServerAndHostResume) {
  SslCtxPtr server = server_ctx();
  ASSERT_TRUE(connect(client_ctx_.get(), server.get(), true).completed);
  Outcome other_server = connect(client_ctx_.get(), server.get(), true, "192.0.2.11:443");
  ASSERT_TRUE(other_server.completed);
  EXPECT_FALSE(other_server.resumed);
  Outcome other_host = connect(client_ctx_.get(), server.get(), true, kServer, "other.lab.test");
  ASSERT_TRUE(other_host.completed);
  EXPECT_FALSE(other_host.resumed);
}

TEST_F(UpstreamSessions, ValidationOlderThanMaxAgeIsNotResumed) {
  SslCtxPtr client = verifier_.make_upstream_ctx();
  // A fresh cache with no age allowance: every validation is already too old.
  attach_upstream_session_cache(client.get(), {16, 0s});
  SslCtxPtr server = server_ctx();
  ASSERT_TRUE(connect(client.get(), server.get(), true).completed);
  Outcome second = connect(client.get(), server.get(), true);
  ASSERT_TRUE(second.completed);
  EXPECT_FALSE(second.resumed);
}

TEST_F(UpstreamSessions, CapacityEvictsTheLeastRecentlyUsed) {
  SslCtxPtr client = verifier_.make_upstream_ctx();
  attach_upstream_session_cache(client.get(), {1, 300s});
  SslCtxPtr server = server_ctx();
  ASSERT_TRUE(connect(client.get(), server.get(), true, "192.0.2.10:443").completed);
  ASSERT_TRUE(connect(client.get(), server.get(), true, "192.0.2.11:443").completed);
  EXPECT_EQ(upstream_sessions_cached(client.get()), 1u);
  EXPECT_FALSE(connect(client.get(), server.get(), true, "192.0.2.10:443").resumed);
}

TEST_F(UpstreamSessions, ContextWithoutCacheOffersNothing) {
  SslCtxPtr client(SSL_CTX_new(TLS_client_method()));
  SslPtr ssl(SSL_new(client.get()));
  offer_upstream_session(ssl.get(), kServer, kHost);
  upstream_session_validated(ssl.get());
  EXPECT_EQ(SSL_get0_session(ssl.get()), nullptr);
  EXPECT_EQ(upstream_sessions_cached(client.get()), 0u);
}

}  // namespace
}  // namespace tlsgate::tls
