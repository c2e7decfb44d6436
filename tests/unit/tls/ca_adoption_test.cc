// AdoptionTable alone: capacity, a new rotation forgets the old one, and
// its saved form.
#include "ca/ca_adoption.h"

#include <gtest/gtest.h>

namespace tlsgate::tls {
namespace {

IpAddress ip(const std::string& text) {
  return *IpAddress::parse(text);
}

TEST(AdoptionTable, ClientsBeyondCapacityAreCountedNotTracked) {
  AdoptionTable table(2);
  table.start_rotation("default", 1, 2, 100);
  table.report("default", 2, false, ip("10.0.0.1"), "alert:unknown_ca", 101);
  table.report("default", 2, false, ip("10.0.0.2"), std::nullopt, 101);
  table.report("default", 2, false, ip("10.0.0.3"), "alert:unknown_ca", 101);
  auto r = table.rotation("default");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->clients.size(), 2u);
  EXPECT_EQ(r->untracked, 1u);
  EXPECT_FALSE(table.use_previous("default", 2, ip("10.0.0.3"), 102, std::chrono::hours(1)));
  EXPECT_TRUE(table.use_previous("default", 2, ip("10.0.0.1"), 102, std::chrono::hours(1)));
}

TEST(AdoptionTable, ANewRotationForgetsTheClientsOfTheLastOne) {
  AdoptionTable table;
  table.start_rotation("default", 1, 2, 100);
  table.report("default", 2, false, ip("10.0.0.1"), "alert:bad_certificate", 101);
  table.start_rotation("default", 2, 3, 200);
  EXPECT_TRUE(table.rotation("default")->clients.empty());
  EXPECT_FALSE(table.use_previous("default", 3, ip("10.0.0.1"), 201, std::chrono::hours(1)));
  EXPECT_EQ(table.not_adopted("default", 3), 0u);
  EXPECT_FALSE(table.not_adopted("default", 2).has_value());
  EXPECT_FALSE(table.rotation("corp").has_value());
}

TEST(AdoptionTable, SavedFormRoundTrips) {
  AdoptionTable table;
  table.start_rotation("default", 1, 2, 100);
  table.report("default", 2, false, ip("10.0.0.1"), "closed_after_certificate", 101);
  table.report("default", 1, true, ip("10.0.0.1"), std::nullopt, 102);
  table.report("default", 2, false, ip("fd00::5"), std::nullopt, 103);
  EXPECT_TRUE(table.dirty());
  const nlohmann::json saved = table.to_json();
  EXPECT_FALSE(table.dirty());

  AdoptionTable loaded;
  loaded.load(saved);
  EXPECT_EQ(loaded.to_json(), saved);
  auto r = loaded.rotation("default");
  ASSERT_EQ(r->clients.size(), 2u);
  EXPECT_EQ(r->clients[0].last_rejection, "closed_after_certificate");
  EXPECT_EQ(r->clients[0].fallback_served, 1u);
  EXPECT_TRUE(r->clients[1].adopted);
  EXPECT_EQ(r->clients[1].accepted_at, 103);

  nlohmann::json bad = saved;
  bad["rotations"][0]["clients"][0]["client"] = "not an address";
  EXPECT_THROW(loaded.load(bad), std::runtime_error);
  EXPECT_THROW(loaded.load(nlohmann::json{{"version", 99}}), std::runtime_error);
}

}  // namespace
}  // namespace tlsgate::tls
