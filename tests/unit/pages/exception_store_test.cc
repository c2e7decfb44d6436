// Exceptions granted by "continue": exact binding, expiry, bounded size,
// shared by threads.
#include "pages/exception_store.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace tlsgate::pages {
namespace {

using namespace std::chrono_literals;
using Clock = ExceptionStore::Clock;

const IpAddress kClient = *IpAddress::parse("192.168.1.20");
const std::string kFp(64, 'a');

TEST(ExceptionStore, AllowsExactlyTheGrantedTriple) {
  ExceptionStore store;
  const auto now = Clock::now();
  store.grant(kClient, "bad.lab.test", kFp, now + 1h);
  EXPECT_TRUE(store.allowed(kClient, "bad.lab.test", kFp, now));
  EXPECT_TRUE(store.allowed(kClient, "BAD.lab.test", std::string(64, 'A'), now));
  EXPECT_FALSE(store.allowed(*IpAddress::parse("192.168.1.21"), "bad.lab.test", kFp, now));
  EXPECT_FALSE(store.allowed(kClient, "other.lab.test", kFp, now));
  EXPECT_FALSE(store.allowed(kClient, "bad.lab.test", std::string(64, 'b'), now));
}

TEST(ExceptionStore, ExpiresAtTheTtl) {
  ExceptionStore store;
  const auto now = Clock::now();
  store.grant(kClient, "bad.lab.test", kFp, now + 1h);
  EXPECT_TRUE(store.allowed(kClient, "bad.lab.test", kFp, now + 59min));
  EXPECT_FALSE(store.allowed(kClient, "bad.lab.test", kFp, now + 1h));
  // Granting again extends it.
  store.grant(kClient, "bad.lab.test", kFp, now + 2h);
  EXPECT_TRUE(store.allowed(kClient, "bad.lab.test", kFp, now + 90min));
  EXPECT_EQ(store.size(), 1u);
}

TEST(ExceptionStore, BoundedDroppingTheSoonestToExpire) {
  ExceptionStore store(3);
  const auto now = Clock::now();
  store.grant(kClient, "a.test", kFp, now + 3h);
  store.grant(kClient, "b.test", kFp, now + 1h);  // soonest
  store.grant(kClient, "c.test", kFp, now + 2h);
  store.grant(kClient, "d.test", kFp, now + 4h);
  EXPECT_EQ(store.size(), 3u);
  EXPECT_FALSE(store.allowed(kClient, "b.test", kFp, now));
  EXPECT_TRUE(store.allowed(kClient, "a.test", kFp, now));
  EXPECT_TRUE(store.allowed(kClient, "d.test", kFp, now));
  store.clear();
  EXPECT_EQ(store.size(), 0u);
  EXPECT_FALSE(store.allowed(kClient, "a.test", kFp, now));
}

TEST(ExceptionStore, ExpiredEntriesAreDroppedFirstWhenFull) {
  ExceptionStore store(2);
  const auto past = Clock::now() - 1h;
  store.grant(kClient, "old.test", kFp, past);
  store.grant(kClient, "a.test", kFp, Clock::now() + 10min);
  store.grant(kClient, "b.test", kFp, Clock::now() + 5h);
  EXPECT_TRUE(store.allowed(kClient, "a.test", kFp));
  EXPECT_TRUE(store.allowed(kClient, "b.test", kFp));
}

TEST(ExceptionStore, UsableFromManyThreads) {
  ExceptionStore store(10000);
  const auto later = Clock::now() + 1h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string host = "h" + std::to_string(t) + "-" + std::to_string(i) + ".test";
        store.grant(kClient, host, kFp, later);
        EXPECT_TRUE(store.allowed(kClient, host, kFp));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(store.size(), 2000u);
}

}  // namespace
}  // namespace tlsgate::pages
