// RFC 3339 times of the CA registry.
#include "ca/ca_time.h"

#include <gtest/gtest.h>

namespace tlsgate::tls {
namespace {

TEST(CaTime, FormatsAndParsesUtc) {
  EXPECT_EQ(rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(rfc3339(1'740'830'400), "2025-03-01T12:00:00Z");
  EXPECT_EQ(parse_rfc3339("2025-03-01T12:00:00Z"), 1'740'830'400);
  EXPECT_EQ(parse_rfc3339(rfc3339(1'234'567'890)), 1'234'567'890);
}

TEST(CaTime, AcceptsOffsetsFractionsAndASpace) {
  EXPECT_EQ(parse_rfc3339("2025-03-01T13:00:00+01:00"), 1'740'830'400);
  EXPECT_EQ(parse_rfc3339("2025-03-01T11:30:00-00:30"), 1'740'830'400);
  EXPECT_EQ(parse_rfc3339("2025-03-01 12:00:00.250Z"), 1'740'830'400);
  EXPECT_EQ(parse_rfc3339("2025-03-01t12:00:00z"), 1'740'830'400);
}

TEST(CaTime, RefusesWhatIsNotATime) {
  for (const char* bad :
       {"", "2025-03-01", "2025-03-01T12:00:00", "2025-02-30T12:00:00Z", "2025-13-01T12:00:00Z",
        "2025-03-01T24:00:00Z", "2025-03-01T12:00Z", "2025-03-01T12:00:00+1:00",
        "2025-03-01T12:00:00Zjunk", "+10m", "2025-03-01T12:00:00.Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace tlsgate::tls
