// Issue 7's event fields: JA4 and the security delta on flow events, and
// client_reject events.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "events/event_log.h"

namespace tlsgate::events {
namespace {

using nlohmann::json;

TEST(FlowEventJson, Ja4AndSecurityDelta) {
  FlowEvent e;
  e.client = "10.0.0.5:51234";
  e.server = "192.0.2.1:443";
  e.action = "inspect";
  e.rule = "default";
  e.reason = "closed";
  e.ja4 = "t13d1516h2_8daaf6152771_e5627efa2ab1";
  e.security_delta = {{"key_exchange", "X25519MLKEM768 (offered by the client)", "x25519"},
                      {"ocsp_stapling", "stapled", "none"}};
  const json j = to_json(e);
  EXPECT_EQ(j.at("ja4"), "t13d1516h2_8daaf6152771_e5627efa2ab1");
  const json expected = {
      {"key_exchange",
       {{"without_inspection", "X25519MLKEM768 (offered by the client)"},
        {"with_inspection", "x25519"}}},
      {"ocsp_stapling", {{"without_inspection", "stapled"}, {"with_inspection", "none"}}}};
  EXPECT_EQ(j.at("security_delta"), expected);
}

TEST(FlowEventJson, NoDeltaNoField) {
  FlowEvent e;
  const json j = to_json(e);
  EXPECT_FALSE(j.contains("security_delta"));
  EXPECT_FALSE(j.contains("ja4"));
}

TEST(ClientRejectEventJson, Fields) {
  ClientRejectEvent e;
  e.device = "10.0.0.5";
  e.client = "10.0.0.5:51234";
  e.server = "192.0.2.1:443";
  e.sni = "app.example";
  e.ja4 = "t13d1516h2_8daaf6152771_e5627efa2ab1";
  e.alert = "unknown_ca";
  e.alert_code = 48;
  e.phase = "handshake";
  e.rule = "default";
  e.candidate = "0123456789";
  e.in_window = 2;
  const json j = to_json(e);
  EXPECT_EQ(j.at("device"), "10.0.0.5");
  EXPECT_EQ(j.at("sni"), "app.example");
  EXPECT_EQ(j.at("alert"), "unknown_ca");
  EXPECT_EQ(j.at("alert_code"), 48);
  EXPECT_EQ(j.at("phase"), "handshake");
  EXPECT_EQ(j.at("candidate"), "0123456789");
  EXPECT_EQ(j.at("in_window"), 2);
  EXPECT_EQ(j.at("suggested"), false);
  EXPECT_FALSE(j.contains("retest"));
  EXPECT_FALSE(j.contains("auto_bypass"));
  e.alert_code.reset();
  e.alert = "closed_after_certificate";
  e.retest = "abc";
  EXPECT_FALSE(to_json(e).contains("alert_code"));
  EXPECT_EQ(to_json(e).at("retest"), "abc");
}

}  // namespace
}  // namespace tlsgate::events
