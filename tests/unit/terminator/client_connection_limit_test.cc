#include "terminator/client_connection_limit.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <vector>

namespace tlsgate::terminator {
namespace {

IpAddress v4(const char* text) {
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  return IpAddress::v4(a);
}

TEST(ClientConnectionLimit, RefusesTheConnectionPastTheLimitForThatClientOnly) {
  ClientConnectionLimit limit(2);
  const auto a = v4("10.0.0.5");
  const auto b = v4("10.0.0.6");
  auto first = limit.acquire(a);
  auto second = limit.acquire(a);
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(limit.acquire(a));
  EXPECT_TRUE(limit.acquire(b)) << "another device is not limited by this one";
  EXPECT_EQ(limit.connections_of(a), 2u);
}

TEST(ClientConnectionLimit, AClosedConnectionGivesItsSlotBack) {
  ClientConnectionLimit limit(1);
  const auto a = v4("10.0.0.5");
  {
    auto lease = limit.acquire(a);
    ASSERT_TRUE(lease);
    EXPECT_FALSE(limit.acquire(a));
  }
  EXPECT_EQ(limit.clients(), 0u) << "a client without connections is forgotten";
  EXPECT_TRUE(limit.acquire(a));
}

TEST(ClientConnectionLimit, MovedLeasesReleaseOnceFromWhereTheyEndUp) {
  ClientConnectionLimit limit(1);
  const auto a = v4("10.0.0.5");
  std::vector<ClientConnectionLimit::Lease> slots(2);
  slots[0] = std::move(*limit.acquire(a));
  slots[1] = std::move(slots[0]);
  slots[0] = {};  // the moved-from lease holds nothing
  EXPECT_EQ(limit.connections_of(a), 1u);
  slots[1] = {};
  EXPECT_EQ(limit.connections_of(a), 0u);
  EXPECT_TRUE(limit.acquire(a));
}

TEST(ClientConnectionLimit, ZeroMeansNoLimitAndTracksNothing) {
  ClientConnectionLimit limit(0);
  const auto a = v4("10.0.0.5");
  std::vector<ClientConnectionLimit::Lease> held;
  for (int i = 0; i < 5000; ++i) {
    auto lease = limit.acquire(a);
    ASSERT_TRUE(lease);
    held.push_back(std::move(*lease));
  }
  EXPECT_EQ(limit.clients(), 0u);
}

}  // namespace
}  // namespace tlsgate::terminator
