// The cap on connections to a service holds for all workers together.
#include "icap/connection_budget.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace tlsgate::icap {
namespace {

TEST(ConnectionBudget, PlacesUpToTheCapThenRefused) {
  ConnectionBudget b(3);
  EXPECT_TRUE(b.try_acquire());
  EXPECT_TRUE(b.try_acquire());
  EXPECT_TRUE(b.try_acquire());
  EXPECT_FALSE(b.try_acquire());
  EXPECT_EQ(b.held(), 3u);
  b.release();
  EXPECT_TRUE(b.try_acquire());
  EXPECT_FALSE(b.try_acquire());
}

TEST(ConnectionBudget, ServiceMaxConnectionsLowersButNeverRaisesTheCap) {
  ConnectionBudget b(8);
  b.set_service_limit(2u);
  EXPECT_EQ(b.cap(), 2u);
  b.set_service_limit(100u);
  EXPECT_EQ(b.cap(), 8u) << "the configured max_connections still holds";
  b.set_service_limit(std::nullopt);
  EXPECT_EQ(b.cap(), 8u);
  b.set_service_limit(0u);
  EXPECT_EQ(b.cap(), 8u) << "0 is not a limit";
  // Lowered under what is held: no new place until enough went back.
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(b.try_acquire());
  b.set_service_limit(2u);
  EXPECT_FALSE(b.try_acquire());
  b.release();
  b.release();
  EXPECT_FALSE(b.try_acquire());
  b.release();
  EXPECT_TRUE(b.try_acquire());
}

TEST(ConnectionBudget, StarvingCountsOtherWorkersOnly) {
  ConnectionBudget b(1);
  EXPECT_FALSE(b.others_starving(false));
  b.add_starving();
  EXPECT_TRUE(b.others_starving(false)) << "a worker that does not starve sees the one that does";
  EXPECT_FALSE(b.others_starving(true)) << "the starving worker alone";
  b.add_starving();
  EXPECT_TRUE(b.others_starving(true));
  b.remove_starving();
  b.remove_starving();
  EXPECT_FALSE(b.others_starving(false));
}

TEST(ConnectionBudget, ManyThreadsNeverHoldMoreThanTheCap) {
  ConnectionBudget b(5);
  std::atomic<unsigned> inside{0};
  std::atomic<unsigned> most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        if (!b.try_acquire()) continue;
        unsigned now = inside.fetch_add(1) + 1;
        unsigned seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        inside.fetch_sub(1);
        b.release();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(most.load(), 5u);
  EXPECT_GE(most.load(), 1u);
  EXPECT_EQ(b.held(), 0u);
}

}  // namespace
}  // namespace tlsgate::icap
