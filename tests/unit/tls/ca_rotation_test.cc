// CA rotation seen from the clients: the fallback to the previous
// generation for a client that rejected the new one, the retrial, the
// adoption report and when a rotation is complete.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "ca/ca_registry.h"
#include "test_pki.h"

namespace tlsgate::tls {
namespace {

using ::testing::ElementsAre;
using testing::TempDir;

constexpr UnixTime kStart = 1'750'000'000;
constexpr UnixTime kRetry = 3600;
constexpr UnixTime kRetireAfter = 7 * 86400;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

class CaRotationTest : public ::testing::Test {
 protected:
  TempDir dir_;
  UnixTime now_ = kStart;
  std::vector<nlohmann::json> events_;
  std::unique_ptr<CaRegistry> registry_ = open();
  const IpAddress both_ = ip("10.0.0.2");      // trusts old and new
  const IpAddress old_only_ = ip("10.0.0.3");  // trusts only the old CA

  std::unique_ptr<CaRegistry> open() {
    CaRegistry::Options o;
    o.retire_after = std::chrono::seconds(kRetireAfter);
    o.fallback_retry = std::chrono::seconds(kRetry);
    o.now = [this] { return now_; };
    o.on_event = [this](nlohmann::json e) { events_.push_back(std::move(e)); };
    return CaRegistry::open(dir_.path(), std::move(o));
  }

  void rotate() {
    registry_->stage("default");
    registry_->activate("default", std::nullopt);
    events_.clear();
  }

  // One handshake of `client`: the generation it was served; it accepts
  // the generations it trusts and rejects the others.
  unsigned handshake(const IpAddress& client, const std::vector<unsigned>& trusted) {
    SignerChoice choice = registry_->signer_for(client, "");
    const unsigned gen = choice.ca->generation;
    if (std::find(trusted.begin(), trusted.end(), gen) != trusted.end()) {
      registry_->report_acceptance(client, choice);
    } else {
      registry_->report_rejection(client, choice, "alert:unknown_ca");
    }
    return gen;
  }

  ClientAdoption client(const Rotation& r, const IpAddress& address) {
    for (const auto& c : r.clients) {
      if (c.client == address) return c;
    }
    throw std::runtime_error("client not in the report");
  }
};

TEST_F(CaRotationTest, NothingIsTrackedWithoutARotation) {
  EXPECT_FALSE(registry_->signer_for(both_, "").tracked);
  EXPECT_TRUE(registry_->rotation_complete("default"));
  registry_->stage("default");  // staged only: still no rotation
  EXPECT_FALSE(registry_->signer_for(both_, "").tracked);
}

TEST_F(CaRotationTest, AClientRejectingTheNewCaIsServedByThePreviousOne) {
  rotate();
  EXPECT_EQ(handshake(old_only_, {1}), 2u);  // first handshake: the new CA, rejected
  EXPECT_EQ(handshake(old_only_, {1}), 1u);  // then the previous one
  EXPECT_EQ(handshake(old_only_, {1}), 1u);
  EXPECT_EQ(handshake(both_, {1, 2}), 2u);  // a client that trusts both never falls back
  EXPECT_EQ(handshake(both_, {1, 2}), 2u);

  auto rotation = registry_->rotation("default");
  ASSERT_TRUE(rotation);
  EXPECT_EQ(rotation->from, 1u);
  EXPECT_EQ(rotation->to, 2u);
  const auto fallback = client(*rotation, old_only_);
  EXPECT_FALSE(fallback.adopted);
  EXPECT_EQ(fallback.rejections, 1u);
  EXPECT_EQ(fallback.fallback_served, 2u);
  EXPECT_EQ(fallback.last_rejection, "alert:unknown_ca");
  EXPECT_EQ(fallback.first_rejected, kStart);
  const auto adopted = client(*rotation, both_);
  EXPECT_TRUE(adopted.adopted);
  EXPECT_EQ(adopted.accepted_at, kStart);
  EXPECT_EQ(rotation->not_adopted(), 1u);
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0]["step"], "client_falls_back");
  EXPECT_EQ(events_[0]["client"], "10.0.0.3");
  EXPECT_EQ(events_[1]["step"], "client_adopted");
  EXPECT_EQ(events_[1]["client"], "10.0.0.2");
}

TEST_F(CaRotationTest, AFallingBackClientIsOfferedTheNewCaAgainAfterTheRetryInterval) {
  rotate();
  handshake(old_only_, {1});
  now_ += kRetry - 1;
  EXPECT_EQ(handshake(old_only_, {1}), 1u);
  now_ += 1;
  EXPECT_EQ(handshake(old_only_, {1}), 2u);  // the trial, rejected again
  EXPECT_EQ(handshake(old_only_, {1}), 1u);
  now_ += kRetry;
  // Meanwhile the administrator installed the new CA on it.
  EXPECT_EQ(handshake(old_only_, {1, 2}), 2u);
  EXPECT_EQ(handshake(old_only_, {1, 2}), 2u);
  auto rotation = registry_->rotation("default");
  const auto c = client(*rotation, old_only_);
  EXPECT_TRUE(c.adopted);
  EXPECT_EQ(c.accepted_at, kStart + 2 * kRetry);
  EXPECT_EQ(c.rejections, 2u);
}

TEST_F(CaRotationTest, OnlyOneConnectionTakesTheTrial) {
  rotate();
  handshake(old_only_, {1});
  now_ += kRetry;
  // Parallel connections: the first is the trial, the others get the previous CA.
  auto trial = registry_->signer_for(old_only_, "");
  auto parallel = registry_->signer_for(old_only_, "");
  EXPECT_EQ(trial.ca->generation, 2u);
  EXPECT_EQ(parallel.ca->generation, 1u);
  EXPECT_TRUE(parallel.previous);
}

TEST_F(CaRotationTest, RotationIsCompleteOnceThePreviousCaRetiredAndNoClientFallsBack) {
  rotate();
  handshake(both_, {1, 2});
  EXPECT_FALSE(registry_->rotation_complete("default"));  // the previous CA is still published
  handshake(old_only_, {1});
  registry_->retire("default", std::nullopt, std::nullopt);
  registry_->tick();
  EXPECT_FALSE(registry_->rotation_complete("default"));  // a client still rejects the new CA
  // Without the previous CA there is nothing to fall back to.
  EXPECT_EQ(handshake(old_only_, {1}), 2u);
  EXPECT_EQ(client(*registry_->rotation("default"), old_only_).rejections, 2u);
  EXPECT_EQ(handshake(old_only_, {2}), 2u);  // installed at last
  registry_->tick();
  EXPECT_TRUE(registry_->rotation_complete("default"));
  EXPECT_FALSE(registry_->signer_for(old_only_, "").tracked);  // no more bookkeeping
}

TEST_F(CaRotationTest, RotationIsCompleteAtTheRetireDateWhenEveryClientAdopted) {
  rotate();
  handshake(both_, {1, 2});
  now_ += kRetireAfter;
  registry_->tick();
  EXPECT_TRUE(registry_->rotation_complete("default"));
}

TEST_F(CaRotationTest, ThePreviousCaRejectedTooIsReportedNotAdopted) {
  rotate();
  const IpAddress pinned = ip("10.0.0.9");
  EXPECT_EQ(handshake(pinned, {}), 2u);
  EXPECT_EQ(handshake(pinned, {}), 1u);
  const auto c = client(*registry_->rotation("default"), pinned);
  EXPECT_FALSE(c.adopted);
  EXPECT_EQ(c.fallback_rejections, 1u);
}

TEST_F(CaRotationTest, ReportsFromAnotherRotationAreIgnored) {
  auto before = registry_->signer_for(old_only_, "");  // a flow that began before
  rotate();
  before.tracked = true;
  registry_->report_rejection(old_only_, before, "alert:unknown_ca");
  EXPECT_THAT(registry_->rotation("default")->clients, ::testing::IsEmpty());
}

TEST_F(CaRotationTest, OtherCasAreNotAffected) {
  registry_->init("corp");
  rotate();
  auto corp = registry_->signer_for(old_only_, "corp");
  EXPECT_FALSE(corp.tracked);
  EXPECT_EQ(corp.ca->name, "corp");
  EXPECT_TRUE(registry_->rotation_complete("corp"));
}

TEST_F(CaRotationTest, TheAdoptionReportSurvivesARestart) {
  rotate();
  handshake(old_only_, {1});
  handshake(both_, {1, 2});
  registry_.reset();  // saves the table
  registry_ = open();
  EXPECT_EQ(handshake(old_only_, {1}), 1u);  // still falling back: no second rejection
  auto rotation = registry_->rotation("default");
  ASSERT_TRUE(rotation);
  EXPECT_EQ(client(*rotation, old_only_).rejections, 1u);
  EXPECT_TRUE(client(*rotation, both_).adopted);
}

TEST_F(CaRotationTest, ALostReportStartsAgainAndFallbackStillWorks) {
  rotate();
  handshake(old_only_, {1});
  registry_.reset();
  std::ofstream(dir_.path() / "ca" / "adoption.json") << "{ damaged";
  registry_ = open();
  EXPECT_EQ(handshake(old_only_, {1}), 2u);  // forgotten: rejects the new CA once more
  EXPECT_EQ(handshake(old_only_, {1}), 1u);
  EXPECT_EQ(registry_->rotation("default")->from, 1u);
}

}  // namespace
}  // namespace tlsgate::tls
