// The ciphertext BIOs under real TLS: a client and a server SSL joined only
// by lent receive buffers and OutboundQueues, as a connection drives them.
// Loans end with bytes unread (split records, several records in one
// buffer), which must be kept and read first next time, byte-exact.
#include "terminator/ciphertext_bio.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <string>
#include <vector>

#include "terminator/tls_session.h"

namespace tlsgate::terminator {
namespace {

// A self-signed P-256 server identity.
struct Identity {
  tls::EvpPkeyPtr key{EVP_EC_gen("P-256")};
  tls::X509Ptr cert{X509_new()};
  Identity() {
    X509_set_version(cert.get(), X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("bio.test"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
    X509_sign(cert.get(), key.get(), EVP_sha256());
  }
};

class CiphertextBio : public ::testing::TestWithParam<int> {
 protected:
  Identity id_;
  tls::SslCtxPtr server_ctx_{SSL_CTX_new(TLS_server_method())};
  tls::SslCtxPtr client_ctx_{SSL_CTX_new(TLS_client_method())};
  OutboundQueue to_server_;  // the client's write BIO
  OutboundQueue to_client_;  // the server's write BIO
  tls::SslPtr client_;
  tls::SslPtr server_;

  void SetUp() override {
    SSL_CTX_use_certificate(server_ctx_.get(), id_.cert.get());
    SSL_CTX_use_PrivateKey(server_ctx_.get(), id_.key.get());
    SSL_CTX_set_max_proto_version(client_ctx_.get(), GetParam());
    client_ = new_memory_ssl(client_ctx_.get(), to_server_);
    server_ = new_memory_ssl(server_ctx_.get(), to_client_);
    ASSERT_TRUE(client_ && server_);
    SSL_set_connect_state(client_.get());
    SSL_set_accept_state(server_.get());
  }

  // Takes what `queue` holds, as a receive would.
  static std::vector<uint8_t> drain(OutboundQueue& queue) {
    std::vector<uint8_t> out;
    for (auto b = queue.start_send(); !b.empty(); b = queue.start_send()) {
      out.insert(out.end(), b.begin(), b.end());
      queue.complete_send(b.size());
    }
    return out;
  }

  // Lends `wire` to `ssl` in loans of `chunk` bytes, calling `step` during
  // each loan; each loan's buffer is overwritten once it ends, as the
  // worker recycles a receive buffer.
  template <typename Step>
  static void feed(SSL* ssl, const std::vector<uint8_t>& wire, size_t chunk, Step step) {
    for (size_t at = 0; at < wire.size(); at += chunk) {
      std::vector<uint8_t> buffer(
          wire.begin() + static_cast<long>(at),
          wire.begin() + static_cast<long>(std::min(wire.size(), at + chunk)));
      {
        LentCiphertext lent(ssl, buffer);
        step();
      }
      std::fill(buffer.begin(), buffer.end(), 0xee);
    }
  }

  static void handshake_step(SSL* ssl) {
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl);
    if (r != 1) {
      ASSERT_EQ(SSL_get_error(ssl, r), SSL_ERROR_WANT_READ);
    }
  }

  void handshake(size_t chunk) {
    handshake_step(client_.get());
    for (int round = 0;
         round < 8 && !(SSL_is_init_finished(client_.get()) && SSL_is_init_finished(server_.get()));
         ++round) {
      feed(server_.get(), drain(to_server_), chunk, [&] { handshake_step(server_.get()); });
      feed(client_.get(), drain(to_client_), chunk, [&] { handshake_step(client_.get()); });
    }
    ASSERT_TRUE(SSL_is_init_finished(client_.get()));
    ASSERT_TRUE(SSL_is_init_finished(server_.get()));
  }

  // Everything the server can read now, during loans of `chunk` bytes.
  std::string server_reads(const std::vector<uint8_t>& wire, size_t chunk) {
    std::string got;
    feed(server_.get(), wire, chunk, [&] {
      char buf[4096];
      while (true) {
        const int n = SSL_read(server_.get(), buf, sizeof buf);
        if (n <= 0) {
          ASSERT_EQ(SSL_get_error(server_.get(), n), SSL_ERROR_WANT_READ);
          return;
        }
        got.append(buf, static_cast<size_t>(n));
      }
    });
    return got;
  }
};

TEST_P(CiphertextBio, HandshakeAndDataOverWholeBuffers) {
  handshake(1 << 20);
  ASSERT_EQ(SSL_write(client_.get(), "GET / HTTP/1.1\r\n\r\n", 18), 18);
  EXPECT_EQ(server_reads(drain(to_server_), 1 << 20), "GET / HTTP/1.1\r\n\r\n");
}

TEST_P(CiphertextBio, LoansEndingMidRecordAreKeptByteExact) {
  for (size_t chunk : {1u, 7u, 300u, 16389u}) {
    drain(to_server_);
    drain(to_client_);
    SetUp();  // a fresh pair for each cut
    handshake(chunk);
    std::string sent;
    for (int i = 0; i < 40; ++i)
      sent += std::string(1000 + static_cast<size_t>(i), static_cast<char>('a' + i % 26));
    // Several records (up to 16 KiB each) in one stream, read in other cuts.
    for (size_t at = 0; at < sent.size(); at += 5000) {
      const std::string part = sent.substr(at, 5000);
      ASSERT_EQ(SSL_write(client_.get(), part.data(), static_cast<int>(part.size())),
                static_cast<int>(part.size()));
    }
    EXPECT_EQ(server_reads(drain(to_server_), chunk), sent) << "chunk " << chunk;
    EXPECT_EQ(BIO_ctrl_pending(SSL_get_rbio(server_.get())), 0u);
  }
}

TEST_P(CiphertextBio, GivenBytesAreReadBeforeLaterLoans) {
  handshake(1 << 20);
  ASSERT_EQ(SSL_write(client_.get(), "first;", 6), 6);
  ASSERT_EQ(SSL_write(client_.get(), "second", 6), 6);
  std::vector<uint8_t> wire = drain(to_server_);
  // The first 10 bytes are copied (given), the rest lent afterwards.
  give_ciphertext(server_.get(), std::span(wire).first(10));
  std::vector<uint8_t> rest(wire.begin() + 10, wire.end());
  EXPECT_EQ(server_reads(rest, rest.size()), "first;second");
}

TEST_P(CiphertextBio, AnEmptyReadBioAsksToRetry) {
  handshake(1 << 20);
  char byte;
  const int n = SSL_read(server_.get(), &byte, 1);
  EXPECT_LE(n, 0);
  EXPECT_EQ(SSL_get_error(server_.get(), n), SSL_ERROR_WANT_READ);
}

TEST(CiphertextBioLoan, OutlivingTheSslIsSafe) {
  OutboundQueue out;
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  tls::SslPtr ssl = new_memory_ssl(ctx.get(), out);
  const uint8_t bytes[3] = {1, 2, 3};
  LentCiphertext lent(ssl.get(), bytes);
  ssl.reset();  // the loan holds the BIO
}

TEST(CiphertextBioLoan, ForeignBiosAreLeftAlone) {
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  tls::SslPtr ssl(SSL_new(ctx.get()));
  BIO* mem = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), mem, mem);
  const uint8_t bytes[3] = {1, 2, 3};
  { LentCiphertext lent(ssl.get(), bytes); }
  give_ciphertext(ssl.get(), bytes);
  EXPECT_EQ(BIO_ctrl_pending(mem), 0u);
}

std::string version_name(const ::testing::TestParamInfo<int>& param) {
  return param.param == TLS1_2_VERSION ? "Tls12" : "Tls13";
}

INSTANTIATE_TEST_SUITE_P(Versions, CiphertextBio, ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                         version_name);

}  // namespace
}  // namespace tlsgate::terminator
