// classify_client_rejection: a client's refusal of our certificate (its
// alert, or a close right after our certificate), told apart from other
// handshake failures, over real OpenSSL handshakes in memory.
#include "terminator/client_rejection.h"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include "../tls/test_pki.h"
#include "ca/ca_store.h"
#include "forging/client_facing_context.h"
#include "forging/leaf_forger.h"

namespace tlsgate::terminator {
namespace {

using tls::BioPtr;
using tls::SslCtxPtr;
using tls::SslPtr;

// Our server side (as the terminator runs it) and an OpenSSL client, joined
// by memory BIOs.
class Handshake {
 public:
  Handshake(SSL_CTX* server_ctx, SSL_CTX* client_ctx) {
    server_.reset(SSL_new(server_ctx));
    client_.reset(SSL_new(client_ctx));
    for (SSL* ssl : {server_.get(), client_.get()}) {
      SSL_set_bio(ssl, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    }
    SSL_set_accept_state(server_.get());
    SSL_set_connect_state(client_.get());
    SSL_set_tlsext_host_name(client_.get(), "host.lab.test");
  }
  SSL* server() const { return server_.get(); }

  // The client writes (ClientHello, or its answer to our flight).
  int client_step() {
    ERR_clear_error();
    int ret = SSL_do_handshake(client_.get());
    ERR_clear_error();
    move(client_.get(), server_.get());
    return ret;
  }
  // Our server reads what the client sent and answers; returns SSL_do_handshake's value.
  int server_step() {
    ERR_clear_error();
    int ret = SSL_do_handshake(server_.get());
    move(server_.get(), client_.get());
    return ret;
  }

 private:
  static void move(SSL* from, SSL* to) {
    char buf[16384];
    int n;
    while ((n = BIO_read(SSL_get_wbio(from), buf, sizeof buf)) > 0) {
      BIO_write(SSL_get_rbio(to), buf, n);
    }
  }
  SslPtr server_;
  SslPtr client_;
};

class ClientRejectionTest : public ::testing::Test {
 protected:
  tls::testing::TempDir dir_;
  tls::CaStore ca_ = tls::CaStore::open_or_create(dir_.path());
  tls::LeafForger forger_{ca_};
  std::shared_ptr<const tls::ForgedCert> identity_ = forger_.forge_for_name("host.lab.test");
  SslCtxPtr server_ctx_ = tls::make_client_facing_ctx();

  Handshake start(SSL_CTX* client_ctx) {
    Handshake hs(server_ctx_.get(), client_ctx);
    tls::set_forged_identity(hs.server(), *identity_);
    return hs;
  }

  // A client that verifies against `root` (nullptr: trusts nothing).
  static SslCtxPtr client_ctx(X509* root, int max_version = TLS1_3_VERSION) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_max_proto_version(ctx.get(), max_version);
    if (root != nullptr) X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), root);
    return ctx;
  }
};

TEST_F(ClientRejectionTest, UnknownCaAlertInTls13) {
  SslCtxPtr client = client_ctx(nullptr);
  Handshake hs = start(client.get());
  hs.client_step();                 // ClientHello
  EXPECT_EQ(hs.server_step(), -1);  // our flight, certificate included
  EXPECT_TRUE(certificate_sent(hs.server()));
  hs.client_step();  // refuses it: alert unknown_ca
  const int ret = hs.server_step();
  ASSERT_EQ(SSL_get_error(hs.server(), ret), SSL_ERROR_SSL);
  auto rejection = classify_client_rejection(hs.server(), ret, false);
  ASSERT_TRUE(rejection);
  EXPECT_EQ(rejection->kind, ClientRejection::Kind::alert);
  EXPECT_EQ(rejection->alert, 48);
  EXPECT_EQ(rejection->to_string(), "alert:unknown_ca");
  EXPECT_NE(ERR_peek_error(), 0u);  // left for the caller's own message
  ERR_clear_error();
}

TEST_F(ClientRejectionTest, UnknownCaAlertInTls12) {
  SslCtxPtr client = client_ctx(nullptr, TLS1_2_VERSION);
  Handshake hs = start(client.get());
  hs.client_step();
  hs.server_step();
  EXPECT_TRUE(certificate_sent(hs.server()));
  hs.client_step();
  const int ret = hs.server_step();
  auto rejection = classify_client_rejection(hs.server(), ret, false);
  ASSERT_TRUE(rejection);
  EXPECT_EQ(rejection->to_string(), "alert:unknown_ca");
  ERR_clear_error();
}

TEST_F(ClientRejectionTest, ACloseAfterOurCertificateIsARejection) {
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SslCtxPtr client = client_ctx(nullptr, version);
    Handshake hs = start(client.get());
    hs.client_step();
    hs.server_step();
    auto rejection = classify_client_rejection(hs.server(), 0, /*eof=*/true);
    ASSERT_TRUE(rejection) << version;
    EXPECT_EQ(rejection->to_string(), "closed_after_certificate");
  }
}

TEST_F(ClientRejectionTest, ACloseBeforeOurCertificateIsNot) {
  SslCtxPtr client = client_ctx(nullptr);
  Handshake hs = start(client.get());
  EXPECT_FALSE(certificate_sent(hs.server()));
  EXPECT_FALSE(classify_client_rejection(hs.server(), 0, /*eof=*/true));
}

TEST_F(ClientRejectionTest, AClientThatTrustsUsCompletesAndOtherFailuresAreNotRejections) {
  SslCtxPtr client = client_ctx(ca_.root());
  Handshake ok = start(client.get());
  ok.client_step();
  ok.server_step();
  ok.client_step();
  EXPECT_EQ(ok.server_step(), 1);

  // Garbage instead of a ClientHello: a failure, not a rejection of our certificate.
  Handshake hs = start(client.get());
  BIO_write(SSL_get_rbio(hs.server()), "\x16\x03\x01\x00\x05garbage", 12);
  const int ret = hs.server_step();
  ASSERT_EQ(SSL_get_error(hs.server(), ret), SSL_ERROR_SSL);
  EXPECT_FALSE(classify_client_rejection(hs.server(), ret, false));
  ERR_clear_error();
}

TEST(ClientRejection, NamesTheAlerts) {
  using K = ClientRejection::Kind;
  EXPECT_EQ((ClientRejection{K::alert, 42}).to_string(), "alert:bad_certificate");
  EXPECT_EQ((ClientRejection{K::alert, 43}).to_string(), "alert:unsupported_certificate");
  EXPECT_EQ((ClientRejection{K::alert, 46}).to_string(), "alert:certificate_unknown");
  EXPECT_EQ((ClientRejection{K::alert, 99}).to_string(), "alert:99");
}

}  // namespace
}  // namespace tlsgate::terminator

// Issue 7: clients that check our certificate only after the handshake
// (curl --pinnedpubkey): the classification of their close.
namespace tlsgate::terminator {
namespace {

TEST(ClientRejection, AccessDeniedIsARejectionAlert) {
  EXPECT_EQ((ClientRejection{ClientRejection::Kind::alert, 49}).to_string(), "alert:access_denied");
}

TEST(ClientRejection, CloseAfterHandshakeWithoutAlertIsClosedAfterCertificate) {
  ERR_clear_error();
  EXPECT_EQ(classify_client_close_after_handshake(false).to_string(), "closed_after_certificate");
  EXPECT_EQ(classify_client_close_after_handshake(true).to_string(), "closed_after_certificate");
}

TEST(ClientRejection, CloseAfterHandshakeWithAReceivedAlertNamesIt) {
  ERR_clear_error();
  ERR_raise(ERR_LIB_SSL, SSL_AD_REASON_OFFSET + 42);
  auto rejection = classify_client_close_after_handshake(true);
  EXPECT_EQ(rejection.kind, ClientRejection::Kind::alert);
  EXPECT_EQ(rejection.to_string(), "alert:bad_certificate");
  // Not an SSL error: a close, whatever the queue holds.
  EXPECT_EQ(classify_client_close_after_handshake(false).to_string(), "closed_after_certificate");
  ERR_clear_error();
}

}  // namespace
}  // namespace tlsgate::terminator
