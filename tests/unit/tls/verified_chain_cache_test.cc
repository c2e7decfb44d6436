// Verified chains reused (validation/verified_chain_cache.h): only a chain
// that verified cleanly, only for the exact same certificates, host and
// verifier generation, only while fresh.
#include "validation/verified_chain_cache.h"

#include <gtest/gtest.h>

#include "in_memory_tls.h"
#include "test_pki.h"
#include "upstream_handshake.h"
#include "validation/upstream_verifier.h"

namespace tlsgate::tls {
namespace {

using namespace std::chrono_literals;
using testing::ServerIdentity;
using testing::TempDir;
using testing::TestPki;

X509StackPtr stack_of(std::initializer_list<X509*> certs) {
  X509StackPtr s(sk_X509_new_null());
  for (X509* c : certs) {
    X509_up_ref(c);
    sk_X509_push(s.get(), c);
  }
  return s;
}

class VerifiedChainCacheTest : public ::testing::Test {
 protected:
  TestPki pki_;
  X509Ptr leaf_ = pki_.leaf(testing::server_spec("DNS:www.lab.test"));
  X509Ptr other_leaf_ = pki_.leaf(testing::server_spec("DNS:www.lab.test"));
  X509StackPtr presented_ = stack_of({leaf_.get(), pki_.intermediate.cert.get()});
  X509StackPtr verified_ =
      stack_of({leaf_.get(), pki_.intermediate.cert.get(), pki_.root.cert.get()});
  std::chrono::system_clock::time_point now_ = std::chrono::system_clock::now();
  VerifiedChainCache cache_{{.capacity = 4, .ttl = 60s}, [this] { return now_; }};

  VerifiedChainCache::Key key(const STACK_OF(X509) * presented, const char* host = "www.lab.test",
                              uint64_t generation = 1) const {
    auto k = VerifiedChainCache::key_of(presented, host, generation);
    EXPECT_TRUE(k.has_value());
    return k.value_or(VerifiedChainCache::Key{});
  }
};

TEST_F(VerifiedChainCacheTest, ACleanChainIsFoundForTheSameCertificatesHostAndGeneration) {
  cache_.remember(key(presented_.get()), verified_.get());
  X509StackPtr found = cache_.find(key(presented_.get()));
  ASSERT_TRUE(found);
  ASSERT_EQ(sk_X509_num(found.get()), 3);
  EXPECT_EQ(X509_cmp(sk_X509_value(found.get(), 0), leaf_.get()), 0);
  EXPECT_EQ(X509_cmp(sk_X509_value(found.get(), 2), pki_.root.cert.get()), 0);
  EXPECT_EQ(cache_.hits(), 1u);
}

TEST_F(VerifiedChainCacheTest, AnotherChainIsNeverTakenForIt) {
  cache_.remember(key(presented_.get()), verified_.get());
  // Another leaf with the same names, key and issuer (a re-issue).
  X509StackPtr reissued = stack_of({other_leaf_.get(), pki_.intermediate.cert.get()});
  EXPECT_FALSE(cache_.find(key(reissued.get())));
  // The same leaf without its intermediate, or with another one after it.
  X509StackPtr leaf_only = stack_of({leaf_.get()});
  EXPECT_FALSE(cache_.find(key(leaf_only.get())));
  X509StackPtr extra = stack_of({leaf_.get(), pki_.intermediate.cert.get(), pki_.root.cert.get()});
  EXPECT_FALSE(cache_.find(key(extra.get())));
  EXPECT_EQ(cache_.hits(), 0u);
}

TEST_F(VerifiedChainCacheTest, AnotherHostOrGenerationIsAnotherKey) {
  cache_.remember(key(presented_.get()), verified_.get());
  EXPECT_FALSE(cache_.find(key(presented_.get(), "other.lab.test")));
  EXPECT_FALSE(cache_.find(key(presented_.get(), "ip:192.0.2.1")));
  // A new trust store or gateway CA set (the verifier's generation).
  EXPECT_FALSE(cache_.find(key(presented_.get(), "www.lab.test", 2)));
  EXPECT_TRUE(cache_.find(key(presented_.get())));
}

TEST_F(VerifiedChainCacheTest, ForgottenAfterTheTtl) {
  cache_.remember(key(presented_.get()), verified_.get());
  now_ += 59s;
  EXPECT_TRUE(cache_.find(key(presented_.get())));
  now_ += 1s;
  EXPECT_FALSE(cache_.find(key(presented_.get())));
}

TEST_F(VerifiedChainCacheTest, NeverPastTheEarliestNotAfterOfTheChain) {
  testing::CertSpec spec = testing::server_spec("DNS:www.lab.test");
  spec.not_after = 20s;  // expires well within the TTL
  X509Ptr short_lived = pki_.leaf(spec);
  X509StackPtr presented = stack_of({short_lived.get(), pki_.intermediate.cert.get()});
  X509StackPtr verified =
      stack_of({short_lived.get(), pki_.intermediate.cert.get(), pki_.root.cert.get()});
  cache_.remember(key(presented.get()), verified.get());
  EXPECT_TRUE(cache_.find(key(presented.get())));
  now_ += 25s;  // the leaf has expired: verify again (and fail as expired)
  EXPECT_FALSE(cache_.find(key(presented.get())));
}

TEST_F(VerifiedChainCacheTest, ExpiredChainsLeaveAsNewOnesComeIn) {
  cache_.remember(key(presented_.get(), "www.lab.test", 1), verified_.get());
  cache_.remember(key(presented_.get(), "www.lab.test", 2), verified_.get());
  now_ += 61s;
  cache_.remember(key(presented_.get(), "www.lab.test", 3), verified_.get());
  EXPECT_EQ(cache_.size(), 1u);  // not three: the memory held is one TTL's worth
  EXPECT_TRUE(cache_.find(key(presented_.get(), "www.lab.test", 3)));
}

TEST_F(VerifiedChainCacheTest, AClockThatWentBackForgets) {
  cache_.remember(key(presented_.get()), verified_.get());
  now_ -= 5s;
  EXPECT_FALSE(cache_.find(key(presented_.get())));
}

TEST_F(VerifiedChainCacheTest, BoundedByCapacityOldestFirst) {
  std::vector<VerifiedChainCache::Key> keys;
  for (int i = 0; i < 6; ++i) {
    keys.push_back(key(presented_.get(), "www.lab.test", static_cast<uint64_t>(i)));
    cache_.remember(keys.back(), verified_.get());
  }
  EXPECT_EQ(cache_.size(), 4u);
  EXPECT_FALSE(cache_.find(keys[0]));
  EXPECT_FALSE(cache_.find(keys[1]));
  EXPECT_TRUE(cache_.find(keys[5]));
}

// Through the verifier, as the terminator's upstream handshakes use it.
class VerifiedChainsUpstream : public ::testing::Test {
 protected:
  TempDir dir_;
  TestPki pki_;
  UpstreamVerifier verifier_{pki_.write_root_bundle(dir_.path())};
  SslCtxPtr client_ctx_ = verifier_.make_upstream_ctx();
  X509Ptr leaf_ = pki_.leaf(testing::server_spec("DNS:www.lab.test,DNS:other.lab.test"));

  SslCtxPtr server(X509* leaf = nullptr) const {
    ServerIdentity id{share(leaf ? leaf : leaf_.get()), share(pki_.leaf_key.get()), {}};
    id.chain.push_back(share(pki_.intermediate.cert.get()));
    SslCtxPtr ctx = testing::make_server_ctx(id);
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);  // full handshakes only
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
    return ctx;
  }
  testing::UpstreamOutcome connect(SSL_CTX* server_ctx, const char* host = "www.lab.test",
                                   const FailureTolerance* tolerance = nullptr) {
    return testing::connect_upstream(client_ctx_.get(), server_ctx, host, true, tolerance);
  }
};

TEST_F(VerifiedChainsUpstream, TheSameChainForTheSameHostIsVerifiedOnce) {
  SslCtxPtr s = server();
  ASSERT_TRUE(connect(s.get()).completed);
  EXPECT_EQ(verifier_.verified_chains().size(), 1u);
  EXPECT_EQ(verifier_.verified_chains().hits(), 0u);
  testing::UpstreamOutcome again = connect(s.get());
  EXPECT_TRUE(again.completed);
  EXPECT_FALSE(again.recorded.has_value());
  EXPECT_EQ(verifier_.verified_chains().hits(), 1u);
  // Another name the certificate covers is its own verification.
  EXPECT_TRUE(connect(s.get(), "other.lab.test").completed);
  EXPECT_EQ(verifier_.verified_chains().hits(), 1u);
  EXPECT_EQ(verifier_.verified_chains().size(), 2u);
}

TEST_F(VerifiedChainsUpstream, AHitStillGivesTheVerifiedChainForRevocation) {
  SslCtxPtr s = server();
  ASSERT_TRUE(connect(s.get()).completed);
  std::optional<VerifyFailure> sink;
  testing::InMemoryTls tls(client_ctx_.get(), s.get());
  UpstreamVerifier::prepare(tls.client(), "www.lab.test", true, &sink);
  ASSERT_TRUE(tls.handshake());
  EXPECT_FALSE(sink.has_value());
  EXPECT_EQ(verifier_.verified_chains().hits(), 1u);
  // The CRL check reads the chain up to the anchor (revocation_checker.h).
  STACK_OF(X509)* chain = SSL_get0_verified_chain(tls.client());
  ASSERT_NE(chain, nullptr);
  ASSERT_EQ(sk_X509_num(chain), 3);
  EXPECT_EQ(X509_cmp(sk_X509_value(chain, 0), leaf_.get()), 0);
  EXPECT_EQ(X509_cmp(sk_X509_value(chain, 1), pki_.intermediate.cert.get()), 0);
  EXPECT_EQ(X509_cmp(sk_X509_value(chain, 2), pki_.root.cert.get()), 0);
  EXPECT_EQ(SSL_get_verify_result(tls.client()), X509_V_OK);
}

TEST_F(VerifiedChainsUpstream, ANameTheChainDoesNotCoverFailsAfterAHitForAnother) {
  SslCtxPtr s = server();
  ASSERT_TRUE(connect(s.get()).completed);
  testing::UpstreamOutcome wrong = connect(s.get(), "evil.lab.test");
  EXPECT_FALSE(wrong.completed);
  ASSERT_TRUE(wrong.recorded.has_value());
  EXPECT_EQ(wrong.recorded->error_class, CertErrorClass::hostname_mismatch);
  EXPECT_EQ(verifier_.verified_chains().size(), 1u);  // the failure is not remembered
}

TEST_F(VerifiedChainsUpstream, ADefectToleratedOnceIsNeverRemembered) {
  SslCtxPtr s = server();
  FailureTolerance allow_all = [](const VerifyFailure&, std::string_view) { return true; };
  testing::UpstreamOutcome tolerated = connect(s.get(), "evil.lab.test", &allow_all);
  EXPECT_TRUE(tolerated.completed);
  ASSERT_TRUE(tolerated.recorded.has_value());
  EXPECT_EQ(verifier_.verified_chains().size(), 0u);
  testing::UpstreamOutcome strict = connect(s.get(), "evil.lab.test");
  EXPECT_FALSE(strict.completed);
  ASSERT_TRUE(strict.recorded.has_value());
  EXPECT_EQ(strict.recorded->error_class, CertErrorClass::hostname_mismatch);
}

TEST_F(VerifiedChainsUpstream, AChangedChainIsVerifiedAgain) {
  SslCtxPtr s = server();
  ASSERT_TRUE(connect(s.get()).completed);
  // The server now presents an expired leaf for the same names.
  testing::CertSpec spec = testing::server_spec("DNS:www.lab.test,DNS:other.lab.test");
  spec.not_before = -std::chrono::hours(48);
  spec.not_after = -std::chrono::hours(24);
  X509Ptr expired = pki_.leaf(spec);
  SslCtxPtr changed = server(expired.get());
  testing::UpstreamOutcome out = connect(changed.get());
  EXPECT_FALSE(out.completed);
  ASSERT_TRUE(out.recorded.has_value());
  EXPECT_EQ(out.recorded->error_class, CertErrorClass::expired);
  EXPECT_EQ(verifier_.verified_chains().hits(), 0u);
}

TEST_F(VerifiedChainsUpstream, ANewGatewayCaSetForgetsEveryChain) {
  SslCtxPtr s = server();
  ASSERT_TRUE(connect(s.get()).completed);
  ASSERT_TRUE(connect(s.get()).completed);
  EXPECT_EQ(verifier_.verified_chains().hits(), 1u);
  auto cas = std::make_shared<GatewayCaExclusion>();
  cas->add(pki_.intermediate.cert.get(), "gateway CA default.1");
  verifier_.exclude_gateway_cas(cas);  // e.g. `tlsgatectl ca import` of this intermediate
  testing::UpstreamOutcome out = connect(s.get());
  EXPECT_FALSE(out.completed);
  ASSERT_TRUE(out.recorded.has_value());
  EXPECT_EQ(out.recorded->error_class, CertErrorClass::untrusted_root);
  EXPECT_EQ(verifier_.verified_chains().hits(), 1u);
}

TEST_F(VerifiedChainsUpstream, AnotherVerifierTrustStoreDoesNotShareChains) {
  SslCtxPtr s = server();
  ASSERT_TRUE(connect(s.get()).completed);
  // A trust store without the lab root: its verifier checks for itself.
  TestPki other("Other");
  TempDir other_dir;
  UpstreamVerifier strict(other.write_root_bundle(other_dir.path()));
  SslCtxPtr strict_ctx = strict.make_upstream_ctx();
  testing::UpstreamOutcome out =
      testing::connect_upstream(strict_ctx.get(), s.get(), "www.lab.test", true, nullptr);
  EXPECT_FALSE(out.completed);
  ASSERT_TRUE(out.recorded.has_value());
  EXPECT_EQ(out.recorded->error_class, CertErrorClass::untrusted_root);
  EXPECT_EQ(strict.verified_chains().hits(), 0u);
}

}  // namespace
}  // namespace tlsgate::tls
