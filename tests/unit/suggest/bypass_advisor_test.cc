#include "suggest/bypass_advisor.h"

#include <gtest/gtest.h>

namespace tlsgate::suggest {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const Time kT0 = Time(std::chrono::hours(24 * 365 * 50));
const IpAddress kPhone = *IpAddress::parse("10.0.0.5");
const IpAddress kLaptop = *IpAddress::parse("10.0.0.6");
const Endpoint kServer{*IpAddress::parse("192.0.2.10"), 443};
const std::string kJa4 = "t13d1516h2_8daaf6152771_e5627efa2ab1";

struct Recorder {
  std::vector<nlohmann::json> events;
  BypassAdvisor::EventSink sink() {
    return [this](std::string_view type, nlohmann::json e) {
      e["type"] = type;
      events.push_back(std::move(e));
    };
  }
  std::vector<std::string> steps() const {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e["step"].get<std::string>());
    return out;
  }
};

AdvisorSettings auto_settings() {
  AdvisorSettings s;
  s.threshold = 3;
  s.window = minutes(10);
  s.auto_bypass = true;
  s.auto_bypass_expiry = minutes(30);
  s.retest_interval = minutes(10);
  return s;
}

RejectNote reject(BypassAdvisor& a, Time at, const IpAddress& who = kPhone,
                  const std::string& retest = "") {
  return a.client_rejected(who, kServer, "app.example", kJa4, "alert:unknown_ca", retest, at);
}

TEST(BypassAdvisor, WithoutAutoBypassOnlySuggests) {
  Recorder rec;
  AdvisorSettings s = auto_settings();
  s.auto_bypass = false;
  BypassAdvisor a(s, rec.sink());
  reject(a, kT0);
  reject(a, kT0 + seconds(1));
  auto note = reject(a, kT0 + seconds(2));
  EXPECT_TRUE(note.suggested);
  EXPECT_FALSE(note.bypassed);
  EXPECT_EQ(a.scoped(kPhone, "app.example", kT0 + seconds(3)).decision, ScopedDecision::none);
  auto listing = a.listing(kT0 + seconds(3));
  ASSERT_EQ(listing["suggestions"].size(), 1u);
  EXPECT_EQ(listing["suggestions"][0]["id"], note.candidate);
  EXPECT_EQ(listing["suggestions"][0]["device"], "10.0.0.5/32");
  EXPECT_EQ(listing["suggestions"][0]["count"], 3);
  EXPECT_EQ(listing["suggestions"][0]["ja4"], kJa4);
  EXPECT_TRUE(listing["auto_bypasses"].empty());
  EXPECT_TRUE(rec.events.empty());
}

TEST(BypassAdvisor, AutoBypassAfterThresholdScopedToDeviceAndSni) {
  Recorder rec;
  BypassAdvisor a(auto_settings(), rec.sink());
  EXPECT_FALSE(reject(a, kT0).bypassed);
  EXPECT_FALSE(reject(a, kT0 + seconds(1)).bypassed);
  auto note = reject(a, kT0 + seconds(2));
  ASSERT_TRUE(note.bypassed);
  EXPECT_EQ(*note.bypassed, note.candidate);
  EXPECT_EQ(rec.steps(), (std::vector<std::string>{"created"}));
  const Time t = kT0 + seconds(3);
  auto m = a.scoped(kPhone, "app.example", t);
  EXPECT_EQ(m.decision, ScopedDecision::bypass);
  EXPECT_EQ(m.id, note.candidate);
  EXPECT_EQ(a.scoped(kLaptop, "app.example", t).decision, ScopedDecision::none);
  EXPECT_EQ(a.scoped(kPhone, "other.example", t).decision, ScopedDecision::none);
}

TEST(BypassAdvisor, DeviceGroupWidensTheScope) {
  AdvisorSettings s = auto_settings();
  s.device_prefix_v4 = 24;
  BypassAdvisor a(s, nullptr);
  reject(a, kT0);
  reject(a, kT0 + seconds(1), kLaptop);  // same /24: same group
  EXPECT_TRUE(reject(a, kT0 + seconds(2)).bypassed);
  EXPECT_EQ(a.scoped(kLaptop, "app.example", kT0 + seconds(3)).decision, ScopedDecision::bypass);
  EXPECT_EQ(a.scoped(*IpAddress::parse("10.0.1.5"), "app.example", kT0 + seconds(3)).decision,
            ScopedDecision::none);
}

TEST(BypassAdvisor, ExpiryThenRetestRenewsOnRejectEndsOnPass) {
  Recorder rec;
  BypassAdvisor a(auto_settings(), rec.sink());
  reject(a, kT0);
  reject(a, kT0 + seconds(1));
  const std::string id = *reject(a, kT0 + seconds(2)).bypassed;
  // Expired: every flow is inspected again (a re-test).
  const Time expired = kT0 + minutes(31);
  EXPECT_EQ(a.scoped(kPhone, "app.example", expired).decision, ScopedDecision::retest);
  EXPECT_EQ(a.listing(expired)["auto_bypasses"][0]["state"], "expired_retesting");
  // The client still rejects: one failure renews.
  auto note = reject(a, expired, kPhone, id);
  EXPECT_EQ(note.bypassed, id);
  EXPECT_EQ(a.scoped(kPhone, "app.example", expired + seconds(1)).decision, ScopedDecision::bypass);
  EXPECT_EQ(a.listing(expired)["auto_bypasses"][0]["renewals"], 1);
  // Later the device got our CA: a re-test passes and the bypass ends.
  const Time expired_again = expired + minutes(31);
  EXPECT_EQ(a.scoped(kPhone, "app.example", expired_again).decision, ScopedDecision::retest);
  a.retest_passed(id, kPhone, expired_again);
  EXPECT_EQ(a.scoped(kPhone, "app.example", expired_again).decision, ScopedDecision::none);
  EXPECT_TRUE(a.listing(expired_again)["suggestions"].empty());
  EXPECT_EQ(rec.steps(), (std::vector<std::string>{"created", "renewed", "ended"}));
}

TEST(BypassAdvisor, SwitchedOffByReloadARetestNoLongerRenews) {
  BypassAdvisor a(auto_settings(), nullptr);
  reject(a, kT0);
  reject(a, kT0 + seconds(1));
  const std::string id = *reject(a, kT0 + seconds(2)).bypassed;
  AdvisorSettings off = auto_settings();
  off.auto_bypass = false;
  a.set_settings(off);
  const Time expired = kT0 + minutes(31);
  EXPECT_EQ(a.scoped(kPhone, "app.example", expired).decision, ScopedDecision::retest);
  EXPECT_FALSE(reject(a, expired, kPhone, id).bypassed);
  // Still expired (flows inspected), then forgotten a period later.
  EXPECT_EQ(a.scoped(kPhone, "app.example", expired + seconds(1)).decision, ScopedDecision::retest);
  EXPECT_TRUE(a.listing(kT0 + minutes(61))["auto_bypasses"].empty());
  EXPECT_EQ(a.scoped(kPhone, "app.example", kT0 + minutes(61)).decision, ScopedDecision::none);
}

TEST(BypassAdvisor, PeriodicRetestClaimsOneFlowPerInterval) {
  BypassAdvisor a(auto_settings(), nullptr);
  reject(a, kT0);
  reject(a, kT0 + seconds(1));
  reject(a, kT0 + seconds(2));
  const Time due = kT0 + seconds(2) + minutes(10);
  EXPECT_EQ(a.scoped(kPhone, "app.example", due - seconds(1)).decision, ScopedDecision::bypass);
  EXPECT_EQ(a.scoped(kPhone, "app.example", due).decision, ScopedDecision::retest);
  EXPECT_EQ(a.scoped(kPhone, "app.example", due).decision, ScopedDecision::bypass);
  EXPECT_EQ(a.scoped(kPhone, "app.example", due + minutes(9)).decision, ScopedDecision::bypass);
  EXPECT_EQ(a.scoped(kPhone, "app.example", due + minutes(10)).decision, ScopedDecision::retest);
}

TEST(BypassAdvisor, ExpiredBypassWithoutRetestIsDroppedAfterAnotherPeriod) {
  BypassAdvisor a(auto_settings(), nullptr);
  reject(a, kT0);
  reject(a, kT0 + seconds(1));
  reject(a, kT0 + seconds(2));
  EXPECT_EQ(a.listing(kT0 + minutes(59))["auto_bypasses"].size(), 1u);
  EXPECT_TRUE(a.listing(kT0 + minutes(61))["auto_bypasses"].empty());
  EXPECT_EQ(a.scoped(kPhone, "app.example", kT0 + minutes(61)).decision, ScopedDecision::none);
}

TEST(BypassAdvisor, ValidationFailuresSuggestButNeverBypass) {
  Recorder rec;
  BypassAdvisor a(auto_settings(), rec.sink());
  for (int i = 0; i < 5; ++i)
    a.validation_failed("bad.example", kServer, "expired", kT0 + seconds(i));
  auto listing = a.listing(kT0 + seconds(5));
  ASSERT_EQ(listing["suggestions"].size(), 1u);
  EXPECT_EQ(listing["suggestions"][0]["kind"], "upstream_validation");
  EXPECT_EQ(listing["suggestions"][0]["reasons"]["expired"], 5);
  EXPECT_EQ(listing["suggestions"][0]["servers"][0], "192.0.2.10:443");
  EXPECT_TRUE(listing["auto_bypasses"].empty());
  EXPECT_TRUE(rec.events.empty());
}

TEST(BypassAdvisor, ForgetEndsSuggestionAndBypass) {
  Recorder rec;
  BypassAdvisor a(auto_settings(), rec.sink());
  reject(a, kT0);
  reject(a, kT0 + seconds(1));
  const std::string id = *reject(a, kT0 + seconds(2)).bypassed;
  ASSERT_TRUE(a.suggestion(id, kT0 + seconds(3)));
  EXPECT_TRUE(a.forget(id, "accepted", kT0 + seconds(3)));
  EXPECT_FALSE(a.suggestion(id, kT0 + seconds(3)));
  EXPECT_EQ(a.scoped(kPhone, "app.example", kT0 + seconds(3)).decision, ScopedDecision::none);
  EXPECT_EQ(rec.steps(), (std::vector<std::string>{"created", "ended"}));
  EXPECT_EQ(rec.events.back()["why"], "accepted");
  EXPECT_FALSE(a.forget(id, "accepted", kT0 + seconds(4)));
}

TEST(BypassAdvisor, BelowThresholdIsNotAcceptable) {
  BypassAdvisor a(auto_settings(), nullptr);
  const std::string id = reject(a, kT0).candidate;
  EXPECT_FALSE(a.suggestion(id, kT0));
}

TEST(BypassAdvisor, NoSniNeverBypasses) {
  BypassAdvisor a(auto_settings(), nullptr);
  for (int i = 0; i < 4; ++i) {
    auto note =
        a.client_rejected(kPhone, kServer, "", kJa4, "alert:unknown_ca", "", kT0 + seconds(i));
    EXPECT_FALSE(note.bypassed);
  }
}

}  // namespace
}  // namespace tlsgate::suggest
