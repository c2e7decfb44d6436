// Events in the journal carry the same fields as the JSON line.
#include "events/journal_fields.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "events/event_log.h"

namespace tlsgate::events {
namespace {

using nlohmann::json;

bool has(const std::vector<std::string>& v, const std::string& entry) {
  return std::find(v.begin(), v.end(), entry) != v.end();
}

json with_type(json fields, const char* type) {
  fields["type"] = type;
  fields["ts"] = "2024-05-01T10:00:00.000Z";
  return fields;
}

TEST(JournalFields, FlowEventFieldsAreUpperCasedWithASummary) {
  FlowEvent e;
  e.client = "10.0.0.5:51234";
  e.server = "192.0.2.1:443";
  e.sni = "a.example";
  e.action = "inspect";
  e.rule = "default";
  e.reason = "closed";
  e.bytes_from_client = 12;
  e.duration = std::chrono::milliseconds(1500);
  const auto fields = journal_fields(with_type(to_json(e), "flow"));
  EXPECT_EQ(fields.front(),
            "MESSAGE=flow 10.0.0.5:51234 -> 192.0.2.1:443 sni=a.example inspect rule=default "
            "reason=closed");
  EXPECT_TRUE(has(fields, "PRIORITY=6"));
  EXPECT_TRUE(has(fields, "SYSLOG_IDENTIFIER=tlsgated"));
  EXPECT_TRUE(has(fields, "TYPE=flow"));
  EXPECT_TRUE(has(fields, "TS=2024-05-01T10:00:00.000Z"));
  EXPECT_TRUE(has(fields, "CLIENT=10.0.0.5:51234"));
  EXPECT_TRUE(has(fields, "SERVER=192.0.2.1:443"));
  EXPECT_TRUE(has(fields, "SNI=a.example"));
  EXPECT_TRUE(has(fields, "ACTION=inspect"));
  EXPECT_TRUE(has(fields, "RULE=default"));
  EXPECT_TRUE(has(fields, "REASON=closed"));
  EXPECT_TRUE(has(fields, "BYTES_FROM_CLIENT=12"));
  EXPECT_TRUE(has(fields, "DURATION_MS=1500"));
  EXPECT_EQ(std::count_if(fields.begin(), fields.end(),
                          [](const std::string& f) { return f.starts_with("MESSAGE_ID="); }),
            1);
  // Every field of the JSON line is there, plus the four journal ones.
  EXPECT_EQ(fields.size(), with_type(to_json(e), "flow").size() + 4);
}

TEST(JournalFields, TlsEventChainIsRepeatedAndMessageIsOneLine) {
  TlsEvent e;
  e.client = "10.0.0.5:1";
  e.server = "192.0.2.1:443";
  e.sni = "expired.example";
  e.error_class = "expired";
  e.detail = "certificate has expired\nat depth 0";
  e.chain = {"CN=leaf", "CN=intermediate"};
  e.action = "block";
  const auto fields = journal_fields(with_type(to_json(e), "tls"));
  EXPECT_EQ(fields.front(),
            "MESSAGE=tls expired 192.0.2.1:443 sni=expired.example block - certificate has "
            "expired at depth 0");
  EXPECT_TRUE(has(fields, "PRIORITY=4"));
  EXPECT_TRUE(has(fields, "CLASS=expired"));
  EXPECT_TRUE(has(fields, "DETAIL=certificate has expired\nat depth 0"));  // field keeps it
  EXPECT_TRUE(has(fields, "CHAIN=CN=leaf"));
  EXPECT_TRUE(has(fields, "CHAIN=CN=intermediate"));
}

TEST(JournalFields, OtherEventsAndUnusualKeys) {
  const json fields = with_type(json{{"step", "stage"},
                                     {"_hidden", 1},
                                     {"a-b.c", true},
                                     {"9lives", nullptr},
                                     {"message", "spoof"},
                                     {"nested", json{{"k", "v"}}}},
                                "ca");
  const auto entries = journal_fields(fields);
  EXPECT_EQ(entries.front(),
            "MESSAGE=ca 9lives=null _hidden=1 a-b.c=true message=spoof "
            "nested={\"k\":\"v\"} step=stage");
  EXPECT_TRUE(has(entries, "HIDDEN=1"));  // never a trusted "_" field
  EXPECT_TRUE(has(entries, "A_B_C=true"));
  EXPECT_TRUE(has(entries, "NESTED={\"k\":\"v\"}"));
  EXPECT_TRUE(has(entries, "STEP=stage"));
  EXPECT_FALSE(has(entries, "MESSAGE=spoof"));
  EXPECT_EQ(std::count_if(entries.begin(), entries.end(),
                          [](const std::string& f) { return f.starts_with("F9LIVES"); }),
            0);  // null: left out
}

}  // namespace
}  // namespace tlsgate::events
