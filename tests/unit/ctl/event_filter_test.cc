#include "ctl/event_filter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace tlsgate::ctl {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

SysTime at(const char* rfc3339) {
  std::string error;
  auto t = parse_since(rfc3339, SysTime{}, &error);
  EXPECT_TRUE(t) << error;
  return t.value_or(SysTime{});
}

TEST(ParseSince, DurationsCountBackFromNow) {
  const SysTime now = at("2024-05-01T12:00:00Z");
  std::string error;
  EXPECT_EQ(parse_since("90s", now, &error), now - 90s);
  EXPECT_EQ(parse_since("10m", now, &error), now - 10min);
  EXPECT_EQ(parse_since("2h", now, &error), now - 2h);
  EXPECT_EQ(parse_since("3d", now, &error), now - 72h);
  EXPECT_EQ(parse_since("0m", now, &error), now);
}

TEST(ParseSince, Rfc3339TimesWithFractionsAndOffsets) {
  EXPECT_EQ(at("2024-05-01T10:00:00+02:00"), at("2024-05-01T08:00:00Z"));
  EXPECT_EQ(at("2024-05-01T10:00:00-00:30"), at("2024-05-01T10:30:00Z"));
  EXPECT_EQ(at("2024-05-01T10:00:00.250Z") - at("2024-05-01T10:00:00Z"), 250ms);
  EXPECT_EQ(at("2024-03-01T00:00:00Z") - at("2024-02-28T00:00:00Z"), 48h);  // leap year
}

TEST(ParseSince, RefusesEverythingElse) {
  for (const char* bad :
       {"", "m", "10", "10w", "-5m", "1.5h", "ten minutes", "2024-05-01", "2024-13-01T00:00:00Z",
        "2024-02-30T00:00:00Z", "2024-05-01T10:00:00", "2024-05-01T25:00:00Z",
        "2024-05-01T10:00:00Zjunk", "2999-01-01T00:00:00Z", "1969-12-31T23:59:59Z"}) {
    std::string error;
    EXPECT_FALSE(parse_since(bad, SysTime{}, &error)) << bad;
    EXPECT_NE(error.find("neither a duration"), std::string::npos) << bad;
  }
}

TEST(EventFilter, ByTypeAndTime) {
  const json tls = {{"type", "tls"}, {"ts", "2024-05-01T10:00:00.000Z"}};
  const json flow = {{"type", "flow"}, {"ts", "2024-05-01T11:00:00.000Z"}};
  const json no_ts = {{"type", "tls"}};
  EventFilter any;
  EXPECT_TRUE(any.matches(tls));
  EXPECT_TRUE(any.matches(no_ts));
  EXPECT_FALSE(any.matches(json::array()));
  EventFilter only_tls{{"tls"}, std::nullopt};
  EXPECT_TRUE(only_tls.matches(tls));
  EXPECT_FALSE(only_tls.matches(flow));
  EventFilter two_types{{"tls", "flow"}, std::nullopt};
  EXPECT_TRUE(two_types.matches(flow));
  EventFilter recent{{}, at("2024-05-01T10:30:00Z")};
  EXPECT_FALSE(recent.matches(tls));
  EXPECT_TRUE(recent.matches(flow));
  EXPECT_FALSE(recent.matches(no_ts));  // cannot tell: not shown
  EXPECT_EQ(event_time(flow), at("2024-05-01T11:00:00Z"));
}

class EventFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("tlsgate-events-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".jsonl");
  }
  void TearDown() override {
    std::filesystem::remove(path_);
    std::filesystem::remove(path_.string() + ".1");
  }
  void append(const std::string& text) { std::ofstream(path_, std::ios::app) << text; }
  std::filesystem::path path_;
};

TEST_F(EventFileTest, ReadsWholeLinesOnly) {
  append("{\"a\":1}\n{\"b\":2}\n{\"partial\":");
  std::vector<std::string> lines;
  read_event_lines(
      path_, false, [&](std::string_view l) { lines.emplace_back(l); }, [] { return false; });
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"}));
}

TEST_F(EventFileTest, FollowsGrowthAndRotation) {
  append("one\n");
  std::vector<std::string> lines;
  int polls = 0;
  read_event_lines(
      path_, true, [&](std::string_view l) { lines.emplace_back(l); },
      [&] {
        ++polls;
        if (lines.size() == 1) {
          append("two\nthr");  // grows, the last line still being written
        } else if (lines.size() == 2 && polls < 10) {
          append("ee\n");
        } else if (lines.size() == 3) {
          std::filesystem::rename(path_, path_.string() + ".1");  // rotated
          append("four\n");
        }
        return lines.size() < 4 && polls < 20;
      });
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "three", "four"}));
}

TEST_F(EventFileTest, MissingFileIsAnError) {
  EXPECT_THROW(read_event_lines(
                   path_, false, [](std::string_view) {}, [] { return false; }),
               std::runtime_error);
}

}  // namespace
}  // namespace tlsgate::ctl
