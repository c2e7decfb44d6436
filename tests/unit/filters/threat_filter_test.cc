#include "filters/threat_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "../support/temp_dir.h"
#include "fake_exchange.h"

namespace tlsgate::filters {
namespace {

using test::FakeExchange;
using test::flow_to;
using test::request;
using ::testing::HasSubstr;
using ::testing::Not;

std::shared_ptr<const threat::ThreatLists> lists_of(
    std::vector<std::pair<std::string, policy::ThreatListFormat>> names,
    std::vector<std::string> texts) {
  std::vector<policy::ThreatListSpec> specs;
  for (auto& [name, format] : names) specs.push_back({name, "/unused", format, 1});
  return threat::ThreatLists::from_text(specs, texts);
}

std::vector<nlohmann::json> events_in(const std::filesystem::path& file) {
  std::vector<nlohmann::json> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

class ThreatFilterTest : public ::testing::Test {
 protected:
  test_support::TempDir dir;
  std::filesystem::path event_file = dir.path() / "events.jsonl";
  events::EventLog events{event_file, false};
  ThreatListsSlot slot;
  ThreatFilterFactory factory{slot, &events};
};

TEST_F(ThreatFilterTest, AFlowOpenedWithoutListsIsCheckedAgainstListsLoadedLater) {
  auto filter = factory.make(flow_to("bad.example"));
  ASSERT_NE(filter, nullptr);
  FakeExchange before(flow_to("bad.example"), request("GET", "bad.example", "/"));
  EXPECT_EQ(filter->on_request_head(before).kind(), http::FilterStep::Kind::proceed);
  slot.store(lists_of({{"malware", policy::ThreatListFormat::domains}}, {"bad.example\n"}));
  FakeExchange after(flow_to("bad.example"), request("GET", "bad.example", "/"));
  EXPECT_EQ(filter->on_request_head(after).kind(), http::FilterStep::Kind::reply);
}

TEST_F(ThreatFilterTest, ListedUrlIsAnsweredWithThePageAndAnEvent) {
  slot.store(lists_of({{"urlhaus", policy::ThreatListFormat::urls}},
                      {"http://files.example/bins/mozi.m\n"}));
  auto filter = factory.make(flow_to("files.example"));
  ASSERT_NE(filter, nullptr);

  FakeExchange listed(flow_to("files.example"),
                      request("GET", "files.example", "/bins/mozi.m?a=1"));
  const auto step = filter->on_request_head(listed);
  ASSERT_EQ(step.kind(), http::FilterStep::Kind::reply);
  EXPECT_EQ(step.reply().status, 403);
  EXPECT_EQ(step.reply().outcome, "threat");
  EXPECT_EQ(step.reply().detail, "list:urlhaus");
  EXPECT_THAT(step.reply().body, HasSubstr("threat list <strong>urlhaus</strong>"));
  EXPECT_THAT(step.reply().body, Not(HasSubstr("mozi")));
  EXPECT_EQ(http::find_header(step.reply().headers, "content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(listed.notes["threat_list"], "urlhaus");

  FakeExchange other(flow_to("files.example"), request("GET", "files.example", "/bins/other"));
  EXPECT_EQ(filter->on_request_head(other).kind(), http::FilterStep::Kind::proceed);

  const auto lines = events_in(event_file);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["type"], "threat");
  EXPECT_EQ(lines[0]["stage"], "request");
  EXPECT_EQ(lines[0]["list"], "urlhaus");
  EXPECT_EQ(lines[0]["entry"], "files.example/bins/mozi.m");
  EXPECT_EQ(lines[0]["client"], "10.0.0.5:51234");
  EXPECT_EQ(lines[0]["sni"], "files.example");
  EXPECT_EQ(lines[0]["url"], "https://files.example/bins/mozi.m?a=1");
  EXPECT_EQ(slot.load()->lists()[0].counters->request_hits.load(), 1u);
}

TEST_F(ThreatFilterTest, RequestHostIsCheckedAgainstDomainLists) {
  slot.store(lists_of({{"malware", policy::ThreatListFormat::domains}}, {"evil.example\n"}));
  auto filter = factory.make(flow_to(""));
  FakeExchange ex(flow_to(""), request("POST", "cdn.evil.example:443", "/upload"));
  const auto step = filter->on_request_head(ex);
  ASSERT_EQ(step.kind(), http::FilterStep::Kind::reply);
  EXPECT_THAT(step.reply().body, HasSubstr("<strong>cdn.evil.example</strong>"));
  const auto lines = events_in(event_file);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_FALSE(lines[0].contains("sni"));
  EXPECT_EQ(lines[0]["entry"], "evil.example");
}

TEST_F(ThreatFilterTest, AReloadAppliesToFiltersAlreadyMade) {
  slot.store(lists_of({{"malware", policy::ThreatListFormat::domains}}, {"old.example\n"}));
  auto filter = factory.make(flow_to("new.example"));
  FakeExchange before(flow_to("new.example"), request("GET", "new.example", "/"));
  EXPECT_EQ(filter->on_request_head(before).kind(), http::FilterStep::Kind::proceed);
  slot.store(lists_of({{"malware", policy::ThreatListFormat::domains}}, {"new.example\n"}));
  FakeExchange after(flow_to("new.example"), request("GET", "new.example", "/"));
  EXPECT_EQ(filter->on_request_head(after).kind(), http::FilterStep::Kind::reply);
}

}  // namespace
}  // namespace tlsgate::filters
