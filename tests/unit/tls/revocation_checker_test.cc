// Revocation via CRLs (SECURITY-BATTERY case 12) against a CRL server on
// 127.0.0.1: revoked and good certificates, and every way a CRL can be
// unavailable or unusable, which must come out as `unknown` (the caller's
// soft/hard-fail decides), never as `good`.
#include "validation/revocation_checker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <memory>

#include "in_memory_tls.h"
#include "test_http_server.h"
#include "test_pki.h"
#include "upstream_handshake.h"

namespace tlsgate::tls {
namespace {

using namespace std::chrono_literals;
using testing::CrlSpec;
using ::testing::HasSubstr;
using testing::TestHttpServer;
using Route = TestHttpServer::Route;

class RevocationTest : public ::testing::Test {
 protected:
  TestHttpServer server_;
  testing::TestPki pki_;

  static RevocationChecker::Options options() {
    RevocationChecker::Options o;
    o.connect_timeout = 1000ms;
    o.read_timeout = 300ms;
    o.max_crl_bytes = 64 * 1024;
    o.allow_loopback = true;
    return o;
  }

  // A leaf of the test PKI whose CRL distribution points are `uris`.
  X509Ptr leaf_with_crl(const std::string& uris) const {
    testing::CertSpec spec = testing::server_spec("DNS:www.lab.test");
    spec.extra = {{NID_crl_distribution_points, uris}};
    return pki_.leaf(spec);
  }
  std::string uri(const std::string& path) const { return "URI:" + server_.url(path); }

  X509BorrowedStackPtr chain_of(X509* leaf) const {
    X509BorrowedStackPtr chain(sk_X509_new_null());
    sk_X509_push(chain.get(), leaf);
    sk_X509_push(chain.get(), pki_.intermediate.cert.get());
    sk_X509_push(chain.get(), pki_.root.cert.get());
    return chain;
  }

  std::string intermediate_crl(CrlSpec spec = {}) const {
    return testing::make_crl_der(pki_.intermediate.cert.get(), pki_.intermediate.key.get(), spec);
  }
};

// check(), and when pending, the result the callback delivers.
RevocationResult check_and_wait(RevocationChecker& checker, const STACK_OF(X509) * chain,
                                bool* was_pending = nullptr) {
  auto promise = std::make_shared<std::promise<RevocationResult>>();
  auto future = promise->get_future();
  RevocationResult now =
      checker.check(chain, [promise](RevocationResult r) { promise->set_value(std::move(r)); });
  if (was_pending) *was_pending = now.status == RevocationStatus::pending;
  if (now.status != RevocationStatus::pending) return now;
  if (future.wait_for(30s) != std::future_status::ready) {
    ADD_FAILURE() << "no revocation result delivered";
    return now;
  }
  return future.get();
}

TEST_F(RevocationTest, GoodCertificateIsPendingOnceThenAnsweredFromTheCache) {
  server_.set("/int.crl", Route::reply(200, intermediate_crl()));
  X509Ptr leaf = leaf_with_crl(uri("/int.crl"));
  auto chain = chain_of(leaf.get());
  RevocationChecker checker(options());
  bool pending = false;
  RevocationResult first = check_and_wait(checker, chain.get(), &pending);
  EXPECT_TRUE(pending);
  EXPECT_EQ(first.status, RevocationStatus::good) << first.detail;
  EXPECT_FALSE(first.failure().has_value());
  // The next connection to the site is not delayed: answered at once.
  RevocationResult second = checker.check(
      chain.get(), [](RevocationResult) { ADD_FAILURE() << "a cached answer must not call back"; });
  EXPECT_EQ(second.status, RevocationStatus::good);
  EXPECT_EQ(server_.requests("/int.crl"), 1);
  EXPECT_EQ(checker.stats().fetches, 1u);
  EXPECT_EQ(checker.stats().cached_crls, 1u);
}

TEST_F(RevocationTest, RevokedLeafIsRevokedWithTheReasonAndTheCrl) {
  X509Ptr leaf = leaf_with_crl(uri("/int.crl"));
  X509Ptr other = leaf_with_crl(uri("/int.crl"));
  CrlSpec spec;
  spec.revoked = {leaf.get()};
  server_.set("/int.crl", Route::reply(200, intermediate_crl(spec)));
  RevocationChecker checker(options());
  RevocationResult r = check_and_wait(checker, chain_of(leaf.get()).get());
  EXPECT_EQ(r.status, RevocationStatus::revoked);
  EXPECT_EQ(r.depth, 0);
  EXPECT_THAT(r.detail, HasSubstr("keyCompromise"));
  EXPECT_THAT(r.detail, HasSubstr(server_.url("/int.crl")));
  auto failure = r.failure();
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->error_class, CertErrorClass::revoked);
  EXPECT_EQ(failure->x509_error, X509_V_ERR_CERT_REVOKED);
  // Another certificate of the same CA on the same CRL is not revoked.
  EXPECT_EQ(checker.check(chain_of(other.get()).get(), nullptr).status, RevocationStatus::good);
}

TEST_F(RevocationTest, RevokedIntermediateIsFoundInTheRootsCrl) {
  testing::CertSpec int_spec = testing::ca_spec("Revoked Intermediate");
  int_spec.extra = {{NID_crl_distribution_points, uri("/root.crl")}};
  EvpPkeyPtr int_key = testing::make_ec_key();
  X509Ptr intermediate =
      testing::issue(int_spec, int_key.get(), pki_.root.cert.get(), pki_.root.key.get());
  X509Ptr leaf = testing::issue(testing::server_spec("DNS:www.lab.test"), pki_.leaf_key.get(),
                                intermediate.get(), int_key.get());
  CrlSpec spec;
  spec.revoked = {intermediate.get()};
  server_.set("/root.crl", Route::reply(200, testing::make_crl_der(pki_.root.cert.get(),
                                                                   pki_.root.key.get(), spec)));
  X509BorrowedStackPtr chain(sk_X509_new_null());
  sk_X509_push(chain.get(), leaf.get());
  sk_X509_push(chain.get(), intermediate.get());
  sk_X509_push(chain.get(), pki_.root.cert.get());
  RevocationChecker checker(options());
  RevocationResult r = check_and_wait(checker, chain.get());
  EXPECT_EQ(r.status, RevocationStatus::revoked);
  EXPECT_EQ(r.depth, 1);
  EXPECT_THAT(r.detail, HasSubstr("Revoked Intermediate"));
}

TEST_F(RevocationTest, CertificatesWithoutDistributionPointsHaveNothingToCheck) {
  X509Ptr leaf = pki_.leaf(testing::server_spec("DNS:www.lab.test"));
  RevocationChecker checker(options());
  EXPECT_EQ(checker.check(chain_of(leaf.get()).get(), nullptr).status, RevocationStatus::good);
  EXPECT_EQ(checker.stats().fetches, 0u);
}

TEST_F(RevocationTest, NonHttpDistributionPointIsUnknownAtOnce) {
  X509Ptr leaf = leaf_with_crl("URI:ldap://ldap.lab.test/cn=CRL");
  RevocationChecker checker(options());
  RevocationResult r = checker.check(chain_of(leaf.get()).get(), nullptr);
  EXPECT_EQ(r.status, RevocationStatus::unknown);
  EXPECT_THAT(r.detail, HasSubstr("no http:// CRL distribution point"));
  ASSERT_TRUE(r.failure().has_value());
  EXPECT_EQ(r.failure()->error_class, CertErrorClass::revocation_unknown);
}

TEST_F(RevocationTest, UnreachableCrlIsUnknownAndNotRetriedForEveryConnection) {
  const std::string url = "http://127.0.0.1:" + std::to_string(testing::closed_port()) + "/c.crl";
  X509Ptr leaf = leaf_with_crl("URI:" + url);
  auto chain = chain_of(leaf.get());
  RevocationChecker checker(options());
  bool pending = false;
  RevocationResult r = check_and_wait(checker, chain.get(), &pending);
  EXPECT_TRUE(pending);
  EXPECT_EQ(r.status, RevocationStatus::unknown);
  EXPECT_THAT(r.detail, HasSubstr("Connection refused"));
  EXPECT_EQ(r.failure()->error_class, CertErrorClass::revocation_unknown);
  EXPECT_EQ(r.failure()->x509_error, X509_V_ERR_UNABLE_TO_GET_CRL);
  // Remembered: the next connection gets `unknown` at once, no new fetch.
  EXPECT_EQ(checker.check(chain.get(), nullptr).status, RevocationStatus::unknown);
  EXPECT_EQ(checker.stats().fetches, 1u);
  EXPECT_EQ(checker.stats().fetch_failures, 1u);
}

TEST_F(RevocationTest, SilentCrlServerTimesOutAsUnknown) {
  Route stall;
  stall.stall = true;
  server_.set("/slow.crl", stall);
  X509Ptr leaf = leaf_with_crl(uri("/slow.crl"));
  RevocationChecker checker(options());
  RevocationResult r = check_and_wait(checker, chain_of(leaf.get()).get());
  EXPECT_EQ(r.status, RevocationStatus::unknown);
  EXPECT_THAT(r.detail, HasSubstr("timed out"));
}

TEST_F(RevocationTest, OversizedCrlIsUnknown) {
  server_.set("/big.crl", Route::reply(200, std::string(128 * 1024, '\x30')));
  X509Ptr leaf = leaf_with_crl(uri("/big.crl"));
  RevocationChecker checker(options());
  RevocationResult r = check_and_wait(checker, chain_of(leaf.get()).get());
  EXPECT_EQ(r.status, RevocationStatus::unknown);
  EXPECT_THAT(r.detail, HasSubstr("larger than 65536 bytes"));
}

struct UnusableCrl {
  const char* name;
  const char* expected_detail;
  std::string (*make)(const testing::TestPki& pki, X509* leaf);
};

void PrintTo(const UnusableCrl& c, std::ostream* os) {
  *os << c.name;
}

class UnusableCrlTest : public RevocationTest, public ::testing::WithParamInterface<UnusableCrl> {};

TEST_P(UnusableCrlTest, IsUnknownNeverGood) {
  X509Ptr leaf = leaf_with_crl(uri("/c.crl"));
  server_.set("/c.crl", Route::reply(200, GetParam().make(pki_, leaf.get())));
  RevocationChecker checker(options());
  RevocationResult r = check_and_wait(checker, chain_of(leaf.get()).get());
  EXPECT_EQ(r.status, RevocationStatus::unknown) << r.detail;
  EXPECT_THAT(r.detail, HasSubstr(GetParam().expected_detail));
}

INSTANTIATE_TEST_SUITE_P(
    Crls, UnusableCrlTest,
    ::testing::Values(
        UnusableCrl{"bad_signature", "signature does not verify",
                    [](const testing::TestPki& pki, X509* leaf) {
                      // Lists the leaf, but signed by another key: must not count either way.
                      CrlSpec spec;
                      spec.revoked = {leaf};
                      EvpPkeyPtr other = testing::make_ec_key();
                      return testing::make_crl_der(pki.intermediate.cert.get(), other.get(), spec);
                    }},
        UnusableCrl{"other_issuer", "not by",
                    [](const testing::TestPki& pki, X509*) {
                      return testing::make_crl_der(pki.root.cert.get(), pki.root.key.get(), {});
                    }},
        UnusableCrl{"expired", "expired at",
                    [](const testing::TestPki& pki, X509*) {
                      CrlSpec spec;
                      spec.last_update = -std::chrono::hours(48);
                      spec.next_update = -std::chrono::hours(24);
                      return testing::make_crl_der(pki.intermediate.cert.get(),
                                                   pki.intermediate.key.get(), spec);
                    }},
        UnusableCrl{"not_yet_valid", "not valid before",
                    [](const testing::TestPki& pki, X509*) {
                      CrlSpec spec;
                      spec.last_update = std::chrono::hours(2);
                      spec.next_update = std::chrono::hours(48);
                      return testing::make_crl_der(pki.intermediate.cert.get(),
                                                   pki.intermediate.key.get(), spec);
                    }},
        UnusableCrl{"only_ca_certificates", "only CA certificates",
                    [](const testing::TestPki& pki, X509*) {
                      CrlSpec spec;
                      spec.only_ca_certs = true;
                      return testing::make_crl_der(pki.intermediate.cert.get(),
                                                   pki.intermediate.key.get(), spec);
                    }},
        UnusableCrl{"delta", "delta CRLs",
                    [](const testing::TestPki& pki, X509*) {
                      CrlSpec spec;
                      spec.delta = true;
                      return testing::make_crl_der(pki.intermediate.cert.get(),
                                                   pki.intermediate.key.get(), spec);
                    }},
        UnusableCrl{"not_a_crl", "not a DER-encoded CRL",
                    [](const testing::TestPki&, X509*) { return std::string("<html>hi</html>"); }},
        UnusableCrl{"trailing_bytes", "not a DER-encoded CRL",
                    [](const testing::TestPki& pki, X509*) {
                      return testing::make_crl_der(pki.intermediate.cert.get(),
                                                   pki.intermediate.key.get(), {}) +
                             "x";
                    }}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(RevocationTest, SecondDistributionPointIsUsedWhenTheFirstFails) {
  server_.set("/good.crl", Route::reply(200, intermediate_crl()));
  const std::string dead = "URI:http://127.0.0.1:" + std::to_string(testing::closed_port()) + "/x";
  X509Ptr leaf = leaf_with_crl(dead + "," + uri("/good.crl"));
  RevocationChecker checker(options());
  RevocationResult r = check_and_wait(checker, chain_of(leaf.get()).get());
  EXPECT_EQ(r.status, RevocationStatus::good) << r.detail;
}

TEST_F(RevocationTest, ConcurrentChecksShareOneFetch) {
  server_.set("/int.crl", Route::reply(200, intermediate_crl()));
  X509Ptr leaf = leaf_with_crl(uri("/int.crl"));
  auto chain = chain_of(leaf.get());
  RevocationChecker checker(options());
  std::vector<std::shared_ptr<std::promise<RevocationResult>>> promises;
  std::vector<RevocationResult> immediate;
  for (int i = 0; i < 8; ++i) {
    auto p = std::make_shared<std::promise<RevocationResult>>();
    promises.push_back(p);
    immediate.push_back(checker.check(chain.get(), [p](RevocationResult r) { p->set_value(r); }));
  }
  for (size_t i = 0; i < promises.size(); ++i) {
    RevocationResult r = immediate[i];
    if (r.status == RevocationStatus::pending) {
      auto f = promises[i]->get_future();
      ASSERT_EQ(f.wait_for(30s), std::future_status::ready);
      r = f.get();
    }
    EXPECT_EQ(r.status, RevocationStatus::good) << i;
  }
  EXPECT_EQ(server_.requests("/int.crl"), 1);
}

TEST_F(RevocationTest, WorksOnTheChainOfARealHandshake) {
  X509Ptr leaf = leaf_with_crl(uri("/int.crl"));
  CrlSpec spec;
  spec.revoked = {leaf.get()};
  server_.set("/int.crl", Route::reply(200, intermediate_crl(spec)));
  testing::TempDir dir;
  UpstreamVerifier verifier(pki_.write_root_bundle(dir.path()));
  SslCtxPtr client_ctx = verifier.make_upstream_ctx();
  testing::ServerIdentity id{share(leaf.get()), share(pki_.leaf_key.get()), {}};
  id.chain.push_back(share(pki_.intermediate.cert.get()));
  SslCtxPtr server_ctx = testing::make_server_ctx(id);
  testing::InMemoryTls tls(client_ctx.get(), server_ctx.get());
  std::optional<VerifyFailure> sink;
  UpstreamVerifier::prepare(tls.client(), "www.lab.test", true, &sink);
  ASSERT_TRUE(tls.handshake());
  RevocationChecker checker(options());
  RevocationResult r = check_and_wait(checker, SSL_get0_verified_chain(tls.client()));
  EXPECT_EQ(r.status, RevocationStatus::revoked);
}

TEST_F(RevocationTest, DestroyingTheCheckerDropsPendingChecksWithoutCallingBack) {
  Route stall;
  stall.stall = true;
  server_.set("/slow.crl", stall);
  X509Ptr leaf = leaf_with_crl(uri("/slow.crl"));
  auto called = std::make_shared<std::atomic<bool>>(false);
  {
    RevocationChecker checker(options());
    EXPECT_EQ(
        checker.check(chain_of(leaf.get()).get(), [called](RevocationResult) { *called = true; })
            .status,
        RevocationStatus::pending);
  }
  EXPECT_FALSE(*called);
}

}  // namespace
}  // namespace tlsgate::tls
