#include "suggest/scoped_bypass_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace tlsgate::suggest {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const Time kT0 = Time(std::chrono::hours(24 * 365 * 50));

ScopedBypass bypass(const char* id, const char* device, const char* sni) {
  return {id, *Cidr::parse(device), sni, "ja4", kT0, kT0 + minutes(30), 0};
}

TEST(ScopedBypassTable, MatchesDeviceGroupAndExactName) {
  ScopedBypassTable t(minutes(10));
  t.put(bypass("a", "10.0.0.0/24", "app.example"), kT0 + minutes(10));
  t.put(bypass("b", "fd00::5/128", "app.example"), kT0 + minutes(10));
  const Time now = kT0 + seconds(1);
  EXPECT_EQ(t.match(*IpAddress::parse("10.0.0.77"), "app.example", now).id, "a");
  EXPECT_EQ(t.match(*IpAddress::parse("fd00::5"), "app.example", now).id, "b");
  EXPECT_EQ(t.match(*IpAddress::parse("10.0.1.77"), "app.example", now).decision,
            ScopedDecision::none);
  EXPECT_EQ(t.match(*IpAddress::parse("10.0.0.77"), "www.app.example", now).decision,
            ScopedDecision::none);
}

TEST(ScopedBypassTable, PutReplacesRemoveDrops) {
  ScopedBypassTable t(minutes(10));
  t.put(bypass("a", "10.0.0.5", "app.example"), kT0 + minutes(10));
  ScopedBypass renewed = bypass("a", "10.0.0.5", "app.example");
  renewed.renewals = 3;
  t.put(renewed, kT0 + minutes(10));
  ASSERT_EQ(t.list().size(), 1u);
  EXPECT_EQ(t.find("a")->renewals, 3u);
  EXPECT_TRUE(t.remove("a"));
  EXPECT_FALSE(t.remove("a"));
  EXPECT_FALSE(t.find("a"));
}

TEST(ScopedBypassTable, DropExpiredBefore) {
  ScopedBypassTable t(minutes(10));
  t.put(bypass("a", "10.0.0.5", "app.example"), kT0 + minutes(10));
  t.drop_expired_before(kT0 + minutes(30));
  EXPECT_EQ(t.list().size(), 1u);
  t.drop_expired_before(kT0 + minutes(31));
  EXPECT_TRUE(t.list().empty());
}

// Every worker asks at once when a re-test is due: exactly one flow is inspected.
TEST(ScopedBypassTable, ExactlyOneConcurrentFlowClaimsTheRetest) {
  ScopedBypassTable t(minutes(10));
  t.put(bypass("a", "10.0.0.5", "app.example"), kT0 + minutes(5));
  const IpAddress device = *IpAddress::parse("10.0.0.5");
  std::atomic<int> retests{0};
  std::atomic<int> bypasses{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int n = 0; n < 100; ++n) {
        auto m = t.match(device, "app.example", kT0 + minutes(5));
        (m.decision == ScopedDecision::retest ? retests : bypasses)++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(retests.load(), 1);
  EXPECT_EQ(bypasses.load(), 799);
}

}  // namespace
}  // namespace tlsgate::suggest
