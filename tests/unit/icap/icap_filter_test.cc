// The ICAP filter's decisions that need no service: which services a rule
// chooses, bodies over max_scan_size, and a worker without a client
// (on_error). Scans against c-icap are in tests/icap.
#include "icap/icap_filter.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "../../icap/fake_exchange.h"
#include "../support/temp_dir.h"

namespace tlsgate::icap {
namespace {

using test_support::FakeExchange;
using test_support::ResumeRecord;

config::IcapServiceSettings service(std::string name, config::IcapMethod m) {
  config::IcapServiceSettings s;
  s.name = std::move(name);
  s.url.host = "127.0.0.1";
  s.url.service = "avscan";
  s.method = m;
  return s;
}

struct FilterSetup {
  test_support::TempDir dir;
  std::unique_ptr<events::EventLog> log;
  std::atomic<std::shared_ptr<const policy::RuleSet>> rules;
  std::shared_ptr<IcapFilterShared> shared = std::make_shared<IcapFilterShared>();

  FilterSetup() {
    log = std::make_unique<events::EventLog>(dir.path() / "events.jsonl", false);
    shared->services = {service("av", config::IcapMethod::respmod),
                        service("dlp", config::IcapMethod::reqmod)};
    shared->stats = std::make_shared<ScanStats>(std::vector<std::string>{"av", "dlp"});
    shared->events = log.get();
    auto set = std::make_shared<policy::RuleSet>();
    policy::Rule only_av;
    only_av.name = "only-av";
    only_av.icap = std::vector<std::string>{"av"};
    policy::Rule none;
    none.name = "none";
    none.icap = std::vector<std::string>{};
    set->rules = {only_av, none};
    rules.store(set);
    shared->rules = &rules;
  }

  std::vector<nlohmann::json> events() {
    std::ifstream f(dir.path() / "events.jsonl");
    std::vector<nlohmann::json> out;
    std::string line;
    while (std::getline(f, line)) out.push_back(nlohmann::json::parse(line));
    return out;
  }
};

FakeExchange download(const std::string& rule) {
  FakeExchange ex;
  ex.flow_context.rule = rule;
  ex.flow_context.client = Endpoint{*IpAddress::parse("10.0.0.5"), 51234};
  ex.flow_context.server = Endpoint{*IpAddress::parse("192.0.2.1"), 443};
  ex.request_head = http::RequestHead{"GET", "https", "files.example", "/eicar.com", "", {}};
  ex.response_head = http::ResponseHead{200, {{"content-type", "application/octet-stream"}}};
  return ex;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(IcapFilter, RulesChooseServices) {
  FilterSetup s;
  IcapFilterFactory factory(s.shared);
  EXPECT_EQ(factory.services_for("default"), (std::vector<size_t>{0, 1})) << "default: all";
  EXPECT_EQ(factory.services_for("only-av"), (std::vector<size_t>{0}));
  EXPECT_TRUE(factory.services_for("none").empty());
  http::FlowContext flow;
  flow.rule = "none";
  EXPECT_EQ(factory.make(flow), nullptr) << "icap = [] turns scanning off";
  flow.rule = "only-av";
  EXPECT_NE(factory.make(flow), nullptr);
}

TEST(IcapFilter, HoldsBodiesUpToMaxScanSize) {
  FilterSetup s;
  s.shared->services[0].max_scan_size = 1000;
  IcapFilterFactory factory(s.shared);
  FakeExchange ex = download("only-av");
  auto filter = factory.make(ex.flow());
  EXPECT_EQ(filter->on_request_head(ex).kind(), http::FilterStep::Kind::proceed)
      << "only-av has no REQMOD service";
  http::FilterStep step = filter->on_response_head(ex);
  EXPECT_EQ(step.kind(), http::FilterStep::Kind::need_body);
  EXPECT_EQ(step.body_limit(), 1000u);
}

TEST(IcapFilter, OversizePassesOrBlocksAsConfigured) {
  FilterSetup s;
  s.shared->services[0].max_scan_size = 4;
  IcapFilterFactory factory(s.shared);
  FakeExchange ex = download("only-av");
  std::string body = "0123";
  auto pass = factory.make(ex.flow());
  EXPECT_EQ(pass->on_response_body(ex, {bytes(body), false}).kind(),
            http::FilterStep::Kind::proceed);
  s.shared->services[0].oversize = config::IcapFailAction::block;
  auto block = factory.make(ex.flow());
  http::FilterStep step = block->on_response_body(ex, {bytes(body), false});
  ASSERT_EQ(step.kind(), http::FilterStep::Kind::reply);
  EXPECT_EQ(step.reply().status, 403);
  EXPECT_EQ(step.reply().outcome, "oversize");
  EXPECT_NE(step.reply().body.find("https://files.example/eicar.com"), std::string::npos);
  auto events = s.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["type"], "icap");
  EXPECT_EQ(events[0]["verdict"], "oversize");
  EXPECT_EQ(events[0]["action"], "pass");
  EXPECT_EQ(events[1]["action"], "block");
  EXPECT_EQ(s.shared->stats->count(0, Verdict::oversize), 2u);
}

TEST(IcapFilter, EmptyBodiesAreNotScanned) {
  FilterSetup s;
  IcapFilterFactory factory(s.shared);
  FakeExchange ex = download("only-av");
  auto filter = factory.make(ex.flow());
  EXPECT_EQ(filter->on_response_body(ex, {{}, true}).kind(), http::FilterStep::Kind::proceed);
  EXPECT_TRUE(s.events().empty());
}

TEST(IcapFilter, WithoutAClientOnErrorDecides) {
  FilterSetup s;
  IcapFilterFactory factory(s.shared);
  FakeExchange ex = download("only-av");
  std::string body = "data";
  http::FilterStep blocked = factory.make(ex.flow())->on_response_body(ex, {bytes(body), true});
  ASSERT_EQ(blocked.kind(), http::FilterStep::Kind::reply) << "on_error defaults to block";
  EXPECT_EQ(blocked.reply().outcome, "icap_error");
  EXPECT_NE(blocked.reply().body.find("could not be scanned"), std::string::npos);
  s.shared->services[0].on_error = config::IcapFailAction::pass;
  EXPECT_EQ(factory.make(ex.flow())->on_response_body(ex, {bytes(body), true}).kind(),
            http::FilterStep::Kind::proceed);
  auto events = s.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["verdict"], "error");
  EXPECT_EQ(events[0]["client"], "10.0.0.5:51234");
  EXPECT_EQ(events[0]["url"], "https://files.example/eicar.com");
  EXPECT_EQ(s.shared->stats->count(0, Verdict::error), 2u);
}

TEST(IcapFilter, StatsRenderAsPrometheus) {
  ScanStats stats({"av"});
  stats.record(0, Verdict::clean, std::chrono::microseconds(1500));
  stats.record(0, Verdict::infected, std::chrono::microseconds(20000));
  std::string text = metrics::render(stats.families());
  EXPECT_NE(text.find("tlsgate_icap_scans_total{service=\"av\",verdict=\"clean\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE tlsgate_icap_scan_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("tlsgate_icap_scan_duration_seconds_bucket{service=\"av\",le=\"0.001\"} 0"),
            std::string::npos);
  EXPECT_NE(text.find("tlsgate_icap_scan_duration_seconds_bucket{service=\"av\",le=\"0.0025\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("tlsgate_icap_scan_duration_seconds_bucket{service=\"av\",le=\"+Inf\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("tlsgate_icap_scan_duration_seconds_count{service=\"av\"} 2"),
            std::string::npos);
}

}  // namespace
}  // namespace tlsgate::icap
