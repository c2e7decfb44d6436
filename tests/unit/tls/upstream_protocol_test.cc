// The gateway as a TLS client (SECURITY-BATTERY cases 20–23): what it offers,
// what it refuses, SNI, trust store loading, and fail-closed preparation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "in_memory_tls.h"
#include "test_pki.h"
#include "upstream_handshake.h"
#include "validation/upstream_verifier.h"

namespace tlsgate::tls {
namespace {

using ::testing::HasSubstr;
using testing::ServerIdentity;
using testing::TempDir;
using testing::TestPki;
using ::testing::UnorderedElementsAre;

class UpstreamProtocol : public ::testing::Test {
 protected:
  TempDir dir_;
  TestPki pki_;
  UpstreamVerifier verifier_{pki_.write_root_bundle(dir_.path())};
  SslCtxPtr client_ctx_ = verifier_.make_upstream_ctx();

  ServerIdentity server(EVP_PKEY* key = nullptr,
                        const std::string& san = "DNS:www.lab.test,IP:192.0.2.10") const {
    EVP_PKEY* k = key ? key : pki_.leaf_key.get();
    ServerIdentity id{testing::issue(testing::server_spec(san), k, pki_.intermediate.cert.get(),
                                     pki_.intermediate.key.get()),
                      share(k),
                      {}};
    id.chain.push_back(share(pki_.intermediate.cert.get()));
    return id;
  }
};

// What the gateway's ClientHello offers, as the server sees it.
struct OfferedHello {
  std::vector<const SSL_CIPHER*> ciphers;
  std::vector<unsigned> compression;
  std::vector<unsigned> versions;
  std::vector<unsigned> groups;
  std::vector<unsigned> sigalgs;
};

std::vector<unsigned> u16_list(const unsigned char* p, size_t len) {
  std::vector<unsigned> out;
  for (size_t i = 0; i + 1 < len; i += 2)
    out.push_back(static_cast<unsigned>(p[i] << 8 | p[i + 1]));
  return out;
}

int capture_hello(SSL* ssl, int*, void* arg) {
  auto* hello = static_cast<OfferedHello*>(arg);
  const unsigned char* data = nullptr;
  size_t len = SSL_client_hello_get0_ciphers(ssl, &data);
  for (unsigned id : u16_list(data, len)) {
    if (id == 0x00ff) continue;  // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
    const unsigned char bytes[2] = {static_cast<unsigned char>(id >> 8),
                                    static_cast<unsigned char>(id & 0xff)};
    hello->ciphers.push_back(SSL_CIPHER_find(ssl, bytes));
  }
  len = SSL_client_hello_get0_compression_methods(ssl, &data);
  hello->compression.assign(data, data + len);
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &data, &len) == 1 && len > 0) {
    hello->versions = u16_list(data + 1, len - 1);
  }
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_groups, &data, &len) == 1 && len > 2) {
    hello->groups = u16_list(data + 2, len - 2);
  }
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_signature_algorithms, &data, &len) == 1 &&
      len > 2) {
    hello->sigalgs = u16_list(data + 2, len - 2);
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

TEST_F(UpstreamProtocol, ClientHelloOffersOnlyModernParameters) {
  ServerIdentity id = server();
  SslCtxPtr server_ctx = testing::make_server_ctx(id);
  OfferedHello hello;
  SSL_CTX_set_client_hello_cb(server_ctx.get(), capture_hello, &hello);
  testing::UpstreamOutcome out =
      testing::connect_upstream(client_ctx_.get(), server_ctx.get(), "www.lab.test");
  ASSERT_TRUE(out.completed);
  EXPECT_EQ(out.version, TLS1_3_VERSION);

  ASSERT_FALSE(hello.ciphers.empty());
  for (const SSL_CIPHER* c : hello.ciphers) {
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(SSL_CIPHER_is_aead(c)) << SSL_CIPHER_get_name(c);
    int kx = SSL_CIPHER_get_kx_nid(c);
    EXPECT_TRUE(kx == NID_kx_ecdhe || kx == NID_kx_any) << SSL_CIPHER_get_name(c);
    int auth = SSL_CIPHER_get_auth_nid(c);
    EXPECT_TRUE(auth == NID_auth_ecdsa || auth == NID_auth_rsa || auth == NID_auth_any)
        << SSL_CIPHER_get_name(c);
  }
  EXPECT_THAT(hello.compression, ::testing::ElementsAre(0u));  // null compression only
  EXPECT_THAT(hello.versions, UnorderedElementsAre(0x0304u, 0x0303u));
  EXPECT_THAT(hello.groups, UnorderedElementsAre(0x001du, 0x0017u, 0x0018u));
  ASSERT_FALSE(hello.sigalgs.empty());
  for (unsigned alg : hello.sigalgs) {
    // rsa_pkcs1_sha1, dsa_sha1, ecdsa_sha1, and the MD5/SHA-224 legacy codes
    EXPECT_NE(alg & 0xff00u, 0x0100u) << std::hex << alg;
    EXPECT_NE(alg, 0x0201u);
    EXPECT_NE(alg, 0x0202u);
    EXPECT_NE(alg, 0x0203u);
  }
}

TEST_F(UpstreamProtocol, Tls12WithAeadIsAccepted) {
  ServerIdentity id = server();
  SslCtxPtr server_ctx = testing::make_server_ctx(id);
  SSL_CTX_set_max_proto_version(server_ctx.get(), TLS1_2_VERSION);
  testing::UpstreamOutcome out =
      testing::connect_upstream(client_ctx_.get(), server_ctx.get(), "www.lab.test");
  ASSERT_TRUE(out.completed);
  EXPECT_EQ(out.version, TLS1_2_VERSION);
  EXPECT_THAT(out.cipher, HasSubstr("ECDHE-ECDSA"));
}

TEST_F(UpstreamProtocol, Tls12DefectStopsBeforeTheClientFinished) {
  testing::CertSpec expired = testing::server_spec("DNS:www.lab.test");
  expired.not_before = -std::chrono::hours(48);
  expired.not_after = -std::chrono::hours(24);
  ServerIdentity id{pki_.leaf(expired), share(pki_.leaf_key.get()), {}};
  id.chain.push_back(share(pki_.intermediate.cert.get()));
  SslCtxPtr server_ctx = testing::make_server_ctx(id);
  SSL_CTX_set_max_proto_version(server_ctx.get(), TLS1_2_VERSION);
  testing::UpstreamOutcome out =
      testing::connect_upstream(client_ctx_.get(), server_ctx.get(), "www.lab.test");
  EXPECT_FALSE(out.server_completed);
  ASSERT_TRUE(out.recorded.has_value());
  EXPECT_EQ(out.recorded->error_class, CertErrorClass::expired);
}

class OldProtocolServer : public UpstreamProtocol, public ::testing::WithParamInterface<int> {};

TEST_P(OldProtocolServer, FailsAsBadProtocolWithoutCertificateVerdict) {
  ServerIdentity id = server();
  SslCtxPtr server_ctx = testing::make_server_ctx(id);
  SSL_CTX_set_min_proto_version(server_ctx.get(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(server_ctx.get(), GetParam());
  SSL_CTX_set_cipher_list(server_ctx.get(), "DEFAULT:@SECLEVEL=0");
  testing::UpstreamOutcome out =
      testing::connect_upstream(client_ctx_.get(), server_ctx.get(), "www.lab.test");
  EXPECT_FALSE(out.completed);
  EXPECT_FALSE(out.recorded.has_value());  // no certificate was ever looked at
  ASSERT_TRUE(out.classified.has_value());
  EXPECT_EQ(out.classified->error_class, CertErrorClass::bad_protocol);
  EXPECT_EQ(out.classified->x509_error, 0);
  EXPECT_THAT(out.classified->detail, HasSubstr("protocol version"));
}

INSTANTIATE_TEST_SUITE_P(Versions, OldProtocolServer,
                         ::testing::Values(TLS1_VERSION, TLS1_1_VERSION));

struct CipherCase {
  const char* name;
  const char* server_ciphers;
  bool rsa;
};

void PrintTo(const CipherCase& c, std::ostream* os) {
  *os << c.name;
}

class WeakCipherServer : public UpstreamProtocol,
                         public ::testing::WithParamInterface<CipherCase> {};

TEST_P(WeakCipherServer, FailsAsBadProtocol) {
  EvpPkeyPtr rsa = testing::make_rsa_key(2048);
  ServerIdentity id = server(GetParam().rsa ? rsa.get() : nullptr);
  SslCtxPtr server_ctx = testing::make_server_ctx(id);
  SSL_CTX_set_max_proto_version(server_ctx.get(), TLS1_2_VERSION);
  ASSERT_EQ(SSL_CTX_set_cipher_list(server_ctx.get(), GetParam().server_ciphers), 1);
  testing::UpstreamOutcome out =
      testing::connect_upstream(client_ctx_.get(), server_ctx.get(), "www.lab.test");
  EXPECT_FALSE(out.completed);
  EXPECT_FALSE(out.recorded.has_value());
  ASSERT_TRUE(out.classified.has_value());
  EXPECT_EQ(out.classified->error_class, CertErrorClass::bad_protocol) << out.classified->detail;
}

INSTANTIATE_TEST_SUITE_P(
    Ciphers, WeakCipherServer,
    ::testing::Values(
        CipherCase{"ecdhe_cbc", "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0", false},
        CipherCase{"static_rsa_cbc", "AES128-SHA:AES256-SHA256:@SECLEVEL=0", true},
        CipherCase{"ecdhe_rsa_cbc_sha384", "ECDHE-RSA-AES256-SHA384:@SECLEVEL=0", true},
        CipherCase{"null_cipher", "NULL-SHA256:@SECLEVEL=0", true},
        CipherCase{"finite_field_dhe", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0", true}),
    [](const auto& test_case) { return std::string(test_case.param.name); });

TEST_F(UpstreamProtocol, SniIsSentOnlyForNames) {
  ServerIdentity id = server();
  SslCtxPtr server_ctx = testing::make_server_ctx(id);
  auto with_sni = testing::connect_upstream(client_ctx_.get(), server_ctx.get(), "www.lab.test");
  ASSERT_TRUE(with_sni.completed);
  EXPECT_EQ(with_sni.sni_seen, "www.lab.test");

  auto without_sni =
      testing::connect_upstream(client_ctx_.get(), server_ctx.get(), "www.lab.test", false);
  ASSERT_TRUE(without_sni.completed);
  EXPECT_EQ(without_sni.sni_seen, "");

  // RFC 6066: never an IP literal in SNI; the IP is still verified.
  auto ip = testing::connect_upstream(client_ctx_.get(), server_ctx.get(), "192.0.2.10", true);
  ASSERT_TRUE(ip.completed);
  EXPECT_EQ(ip.sni_seen, "");
}

TEST_F(UpstreamProtocol, UnpreparedConnectionFailsClosed) {
  ServerIdentity id = server();
  SslCtxPtr server_ctx = testing::make_server_ctx(id);
  testing::InMemoryTls tls(client_ctx_.get(), server_ctx.get());
  EXPECT_FALSE(tls.handshake());
  EXPECT_FALSE(tls.server_done());
  ASSERT_TRUE(tls.client_failure().has_value());
  EXPECT_EQ(tls.client_failure()->error_class, CertErrorClass::other);
}

TEST_F(UpstreamProtocol, PrepareRejectsWhatCannotBeVerified) {
  SslPtr ssl(SSL_new(client_ctx_.get()));
  std::optional<VerifyFailure> sink;
  EXPECT_THROW(UpstreamVerifier::prepare(ssl.get(), "", true, &sink), std::invalid_argument);
  EXPECT_THROW(
      UpstreamVerifier::prepare(ssl.get(), std::string_view("a.test\0b.test", 13), true, &sink),
      std::invalid_argument);
  EXPECT_THROW(UpstreamVerifier::prepare(ssl.get(), "www.lab.test", true, nullptr),
               std::invalid_argument);
}

TEST_F(UpstreamProtocol, SinkIsResetByPrepare) {
  ServerIdentity id = server();
  SslCtxPtr server_ctx = testing::make_server_ctx(id);
  std::optional<VerifyFailure> sink = VerifyFailure{CertErrorClass::expired, 10, 0, "stale"};
  testing::InMemoryTls tls(client_ctx_.get(), server_ctx.get());
  UpstreamVerifier::prepare(tls.client(), "www.lab.test", true, &sink);
  EXPECT_TRUE(tls.handshake());
  EXPECT_FALSE(sink.has_value());
}

TEST(UpstreamTrustStore, UnusableBundlesAreErrorsNamingThePath) {
  TempDir dir;
  auto error_for = [](const std::filesystem::path& p) -> std::string {
    try {
      UpstreamVerifier verifier(p);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  };
  std::filesystem::path missing = dir.path() / "missing.pem";
  EXPECT_THAT(error_for(missing), HasSubstr(missing.string()));
  std::filesystem::path empty = dir.path() / "empty.pem";
  std::ofstream(empty).close();
  EXPECT_THAT(error_for(empty), HasSubstr(empty.string()));
  std::filesystem::path garbage = dir.path() / "garbage.pem";
  std::ofstream(garbage) << "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
  EXPECT_THAT(error_for(garbage), HasSubstr(garbage.string()));
}

TEST(UpstreamTrustStore, SystemStoreDoesNotTrustALabPki) {
  TestPki pki;
  UpstreamVerifier verifier{std::filesystem::path()};
  SslCtxPtr client_ctx = verifier.make_upstream_ctx();
  ServerIdentity id{
      pki.leaf(testing::server_spec("DNS:www.lab.test")), share(pki.leaf_key.get()), {}};
  id.chain.push_back(share(pki.intermediate.cert.get()));
  SslCtxPtr server_ctx = testing::make_server_ctx(id);
  auto out = testing::connect_upstream(client_ctx.get(), server_ctx.get(), "www.lab.test");
  EXPECT_FALSE(out.completed);
  ASSERT_TRUE(out.recorded.has_value());
  EXPECT_EQ(out.recorded->error_class, CertErrorClass::untrusted_root);
}

}  // namespace
}  // namespace tlsgate::tls
