// A dead service is probed with backoff, not asked per request.
#include "icap/service_health.h"

#include <gtest/gtest.h>

namespace tlsgate::icap {
namespace {

using namespace std::chrono_literals;

TEST(ServiceHealth, UpServiceIsAlwaysTried) {
  ServiceHealth h;
  auto t = ServiceHealth::Clock::now();
  EXPECT_TRUE(h.up());
  EXPECT_TRUE(h.may_try(t));
  EXPECT_TRUE(h.may_try(t));
}

TEST(ServiceHealth, DeadServiceGetsOneProbePerPeriodDoubling) {
  ServiceHealth h(1s, 8s);
  auto t = ServiceHealth::Clock::now();
  h.on_failure(t);
  EXPECT_FALSE(h.up());
  EXPECT_EQ(h.down_since(), t);
  EXPECT_FALSE(h.may_try(t + 500ms)) << "inside the backoff";
  EXPECT_TRUE(h.may_try(t + 1s)) << "the probe";
  EXPECT_FALSE(h.may_try(t + 1s)) << "only one probe";
  h.on_failure(t + 1100ms);
  EXPECT_EQ(h.backoff(), 2s);
  EXPECT_FALSE(h.may_try(t + 2s));
  EXPECT_TRUE(h.may_try(t + 3100ms));
  h.on_failure(t + 3200ms);
  EXPECT_TRUE(h.may_try(t + 7200ms));
  h.on_failure(t + 7300ms);
  EXPECT_EQ(h.backoff(), 8s);
  EXPECT_TRUE(h.may_try(t + 15300ms));
  h.on_failure(t + 15400ms);
  EXPECT_EQ(h.backoff(), 8s) << "capped";
  EXPECT_EQ(h.down_since(), t) << "down since the first failure";
}

TEST(ServiceHealth, FailuresOfScansAlreadyUnderWayDoNotStretchTheBackoff) {
  ServiceHealth h(1s, 60s);
  auto t = ServiceHealth::Clock::now();
  for (int i = 0; i < 10; ++i) h.on_failure(t);
  EXPECT_EQ(h.backoff(), 1s);
}

TEST(ServiceHealth, ProbeSuccessBringsItBack) {
  ServiceHealth h(1s, 60s);
  auto t = ServiceHealth::Clock::now();
  h.on_failure(t);
  ASSERT_TRUE(h.may_try(t + 1s));
  h.on_success();
  EXPECT_TRUE(h.up());
  EXPECT_TRUE(h.may_try(t + 1s));
  EXPECT_FALSE(h.down_since());
}

TEST(ServiceHealth, LostProbeOnlyDelaysTheNext) {
  ServiceHealth h(1s, 60s);
  auto t = ServiceHealth::Clock::now();
  h.on_failure(t);
  ASSERT_TRUE(h.may_try(t + 1s));  // its scan was cancelled: no report
  EXPECT_FALSE(h.may_try(t + 1500ms));
  EXPECT_TRUE(h.may_try(t + 2s));
}

}  // namespace
}  // namespace tlsgate::icap
