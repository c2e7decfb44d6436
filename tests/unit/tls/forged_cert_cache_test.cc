// ForgedCertCache: one forged leaf per (CA, upstream leaf), bounded LRU,
// safe under concurrent use.
#include "forging/forged_cert_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "ca/ca_store.h"
#include "test_pki.h"

namespace tlsgate::tls {
namespace {

using testing::TempDir;

class ForgedCertCacheTest : public ::testing::Test {
 protected:
  TempDir dir_;
  CaStore ca_ = CaStore::open_or_create(dir_.path());
  LeafForger forger_{ca_};
  testing::TestPki pki_;

  X509Ptr upstream(int i) const {
    return pki_.leaf(testing::server_spec("DNS:host" + std::to_string(i) + ".lab.test"));
  }
};

TEST_F(ForgedCertCacheTest, SecondLookupIsAHitReturningTheSameLeaf) {
  ForgedCertCache cache;
  X509Ptr up = upstream(1);
  auto first = cache.get_or_forge(forger_, up.get());
  auto second = cache.get_or_forge(forger_, up.get());
  EXPECT_EQ(first.get(), second.get());
  EXPECT_EQ(cache.misses(), 1u);
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(ForgedCertCacheTest, SameNamesInADifferentUpstreamLeafAreForgedAgain) {
  // Key = upstream leaf hash, not its names: a re-issued upstream (new dates)
  // gets a leaf with its own validity.
  ForgedCertCache cache;
  X509Ptr a = upstream(1);
  X509Ptr b = upstream(1);
  auto leaf_a = cache.get_or_forge(forger_, a.get());
  auto leaf_b = cache.get_or_forge(forger_, b.get());
  EXPECT_NE(leaf_a.get(), leaf_b.get());
  EXPECT_EQ(cache.misses(), 2u);
}

TEST_F(ForgedCertCacheTest, DifferentSignerGetsItsOwnLeaf) {
  TempDir other_dir;
  CaStore other_ca = CaStore::open_or_create(other_dir.path());
  LeafForger other_forger(other_ca);
  ForgedCertCache cache;
  X509Ptr up = upstream(1);
  auto mine = cache.get_or_forge(forger_, up.get());
  auto theirs = cache.get_or_forge(other_forger, up.get());
  EXPECT_NE(mine.get(), theirs.get());
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(theirs->leaf.get()),
                          X509_get_subject_name(other_ca.signer())),
            0);
  EXPECT_EQ(
      X509_NAME_cmp(X509_get_issuer_name(mine->leaf.get()), X509_get_subject_name(ca_.signer())),
      0);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.hits(), 0u);
}

TEST_F(ForgedCertCacheTest, EvictsTheLeastRecentlyUsedAtCapacity) {
  ForgedCertCache cache(2, 1);
  X509Ptr a = upstream(1), b = upstream(2), c = upstream(3);
  auto leaf_a = cache.get_or_forge(forger_, a.get());
  auto leaf_b = cache.get_or_forge(forger_, b.get());
  EXPECT_EQ(cache.get_or_forge(forger_, a.get()).get(), leaf_a.get());  // a is now recent
  cache.get_or_forge(forger_, c.get());                                 // evicts b
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.get_or_forge(forger_, a.get()).get(), leaf_a.get());
  uint64_t misses = cache.misses();
  EXPECT_NE(cache.get_or_forge(forger_, b.get()).get(), leaf_b.get());
  EXPECT_EQ(cache.misses(), misses + 1);
}

TEST_F(ForgedCertCacheTest, NeverHoldsMoreThanItsCapacity) {
  ForgedCertCache cache(10, 4);
  EXPECT_LE(cache.capacity(), 10u);
  for (int i = 0; i < 60; ++i) {
    X509Ptr up = upstream(i);
    cache.get_or_forge(forger_, up.get());
    EXPECT_LE(cache.size(), 10u);
  }
  EXPECT_EQ(cache.size(), cache.capacity());
}

TEST_F(ForgedCertCacheTest, FailedForgeIsNotCached) {
  ForgedCertCache cache;
  testing::CertSpec no_san = testing::server_spec("");
  X509Ptr up = pki_.leaf(no_san);
  EXPECT_THROW(cache.get_or_forge(forger_, up.get()), std::runtime_error);
  EXPECT_THROW(cache.get_or_forge(forger_, up.get()), std::runtime_error);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.hits(), 0u);
}

TEST_F(ForgedCertCacheTest, RejectsZeroCapacity) {
  EXPECT_THROW(ForgedCertCache(0, 4), std::invalid_argument);
  EXPECT_THROW(ForgedCertCache(8, 0), std::invalid_argument);
}

TEST_F(ForgedCertCacheTest, ConcurrentUseFromFourThreads) {
  constexpr int kUpstreams = 24;
  constexpr int kLookups = 150;
  std::vector<X509Ptr> upstreams;
  for (int i = 0; i < kUpstreams; ++i) upstreams.push_back(upstream(i));
  ForgedCertCache cache(16, 4);  // smaller than the working set: evictions race lookups

  std::vector<std::vector<std::string>> wrong(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < kLookups; ++n) {
        int i = (n * 7 + t * 5) % kUpstreams;
        auto forged = cache.get_or_forge(forger_, upstreams[i].get());
        std::string expected = "DNS:host" + std::to_string(i) + ".lab.test";
        std::vector<std::string> names = testing::san_entries(forged->leaf.get());
        if (names.size() != 1 || names[0] != expected) wrong[t].push_back(expected);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (const auto& w : wrong) EXPECT_TRUE(w.empty()) << w.front();
  EXPECT_EQ(cache.hits() + cache.misses(), 4u * kLookups);
  EXPECT_GT(cache.hits(), 0u);
  EXPECT_LE(cache.size(), cache.capacity());
}

}  // namespace
}  // namespace tlsgate::tls
