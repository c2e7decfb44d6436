#include "suggest/reject_tracker.h"

#include <gtest/gtest.h>

namespace tlsgate::suggest {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const Time kT0 = Time(std::chrono::hours(24 * 365 * 50));
const Endpoint kServer{*IpAddress::parse("192.0.2.10"), 443};

CandidateKey reject_key(const char* device = "10.0.0.5", const char* sni = "app.example",
                        const char* ja4 = "t13d1516h2_8daaf6152771_e5627efa2ab1") {
  return {CandidateKind::client_reject, *Cidr::parse(device), sni, ja4};
}

TrackerSettings three_in_ten_minutes() {
  return {3, minutes(10), 100};
}

TEST(RejectTracker, ThresholdWithinTheWindowMakesASuggestion) {
  RejectTracker t(three_in_ten_minutes());
  auto r1 = t.record(reject_key(), "alert:unknown_ca", kServer, kT0);
  auto r2 = t.record(reject_key(), "alert:unknown_ca", kServer, kT0 + minutes(1));
  EXPECT_FALSE(r1.became_suggestion);
  EXPECT_FALSE(r2.became_suggestion);
  EXPECT_EQ(r2.in_window, 2u);
  EXPECT_TRUE(t.suggestions(kT0 + minutes(1)).empty());
  auto r3 = t.record(reject_key(), "closed_after_certificate", kServer, kT0 + minutes(2));
  EXPECT_TRUE(r3.became_suggestion);
  auto listed = t.suggestions(kT0 + minutes(2));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].total, 3u);
  EXPECT_EQ(listed[0].reasons.at("alert:unknown_ca"), 2u);
  EXPECT_EQ(listed[0].reasons.at("closed_after_certificate"), 1u);
  EXPECT_EQ(listed[0].id, reject_key().id());
  // Crossing happens once.
  EXPECT_FALSE(
      t.record(reject_key(), "alert:unknown_ca", kServer, kT0 + minutes(3)).became_suggestion);
}

TEST(RejectTracker, SightingsOutsideTheWindowDoNotAddUp) {
  RejectTracker t(three_in_ten_minutes());
  t.record(reject_key(), "a", kServer, kT0);
  t.record(reject_key(), "a", kServer, kT0 + minutes(6));
  auto r = t.record(reject_key(), "a", kServer, kT0 + minutes(11));  // the first fell out
  EXPECT_EQ(r.in_window, 2u);
  EXPECT_FALSE(r.became_suggestion);
  EXPECT_EQ(r.candidate->total, 3u);
  EXPECT_TRUE(t.record(reject_key(), "a", kServer, kT0 + minutes(12)).became_suggestion);
}

TEST(RejectTracker, DifferentDeviceSniOrJa4AreDifferentCandidates) {
  RejectTracker t(three_in_ten_minutes());
  const CandidateKey keys[] = {reject_key(), reject_key("10.0.0.6"),
                               reject_key("10.0.0.5", "other.example"),
                               reject_key("10.0.0.5", "app.example", "t13d1516h1_x_y")};
  for (int round = 0; round < 2; ++round) {
    for (const auto& k : keys) {
      EXPECT_FALSE(t.record(k, "a", kServer, kT0 + seconds(round)).became_suggestion);
    }
  }
  EXPECT_EQ(t.size(), 4u);
  EXPECT_TRUE(t.suggestions(kT0 + seconds(2)).empty());
}

TEST(RejectTracker, ASingleFailureIsNeverEnoughEvenWithThresholdOne) {
  RejectTracker t({1, minutes(10), 100});
  EXPECT_FALSE(t.record(reject_key(), "a", kServer, kT0).became_suggestion);
  EXPECT_TRUE(t.record(reject_key(), "a", kServer, kT0 + seconds(1)).became_suggestion);
}

TEST(RejectTracker, IdsAreStableAndDistinct) {
  EXPECT_EQ(reject_key().id(), reject_key().id());
  EXPECT_EQ(reject_key().id().size(), 10u);
  EXPECT_NE(reject_key().id(), reject_key("10.0.0.6").id());
  const CandidateKey host{CandidateKind::upstream_validation, Cidr(), "app.example", ""};
  EXPECT_NE(host.id(), reject_key().id());
  // Derived from the key alone (FNV-1a, checked against an independent
  // computation): a changed derivation would orphan ids administrators noted.
  EXPECT_EQ(host.id(), "2d4ab6a2a5");
  EXPECT_EQ(reject_key().id(), "9b98d511ce");
}

TEST(RejectTracker, BoundedEvictingPlainKeysBeforeSuggestions) {
  RejectTracker t({2, minutes(10), 3});
  t.record(reject_key("10.0.0.1"), "a", kServer, kT0);
  t.record(reject_key("10.0.0.1"), "a", kServer, kT0 + seconds(1));  // a suggestion
  t.record(reject_key("10.0.0.2"), "a", kServer, kT0 + seconds(2));
  t.record(reject_key("10.0.0.3"), "a", kServer, kT0 + seconds(3));
  t.record(reject_key("10.0.0.4"), "a", kServer, kT0 + seconds(4));
  EXPECT_EQ(t.size(), 3u);
  EXPECT_NE(t.find(reject_key("10.0.0.1").id()), nullptr);
  EXPECT_EQ(t.find(reject_key("10.0.0.2").id()), nullptr);  // the oldest plain key
  EXPECT_NE(t.find(reject_key("10.0.0.4").id()), nullptr);
}

TEST(RejectTracker, ServersAreKeptOnceAndBounded) {
  RejectTracker t(three_in_ten_minutes());
  for (int i = 0; i < 20; ++i) {
    Endpoint s{*IpAddress::parse("192.0.2." + std::to_string(i % 10 + 1)), 443};
    t.record(reject_key(), "a", s, kT0 + seconds(i));
  }
  EXPECT_EQ(t.find(reject_key().id())->servers.size(), 8u);
}

}  // namespace
}  // namespace tlsgate::suggest

namespace tlsgate::suggest {
namespace {

TEST(RejectTracker, CountsTheWholeWindowBeyondTheThreshold) {
  RejectTracker t({3, std::chrono::minutes(10), 100});
  RejectTracker::Recorded r;
  for (int i = 0; i < 7; ++i) {
    r = t.record(reject_key(), "a", kServer, kT0 + std::chrono::seconds(i));
  }
  EXPECT_EQ(r.in_window, 7u);
  EXPECT_EQ(t.suggestions(kT0 + std::chrono::seconds(7))[0].recent.size(), 7u);
  // The window moves on: only the last ones remain.
  EXPECT_EQ(
      t.suggestions(kT0 + std::chrono::minutes(10) + std::chrono::seconds(4))[0].recent.size(), 3u);
}

}  // namespace
}  // namespace tlsgate::suggest
