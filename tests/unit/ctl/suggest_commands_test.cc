#include "ctl/suggest_commands.h"

#include <gtest/gtest.h>

namespace tlsgate::ctl {
namespace {

using nlohmann::json;

const json kSettings = {{"threshold", 3},
                        {"window_s", 600.0},
                        {"auto_bypass", true},
                        {"auto_bypass_expiry_s", 3600.0},
                        {"retest_interval_s", 900.0}};

TEST(SuggestCommands, Requests) {
  EXPECT_EQ(suggest_request("suggest.list", ""), json({{"command", "suggest.list"}}));
  EXPECT_EQ(suggest_request("suggest.accept", "0123456789"),
            json({{"command", "suggest.accept"}, {"id", "0123456789"}}));
}

TEST(SuggestCommands, NothingToSuggestSaysTheRule) {
  const json answer = {
      {"suggestions", json::array()}, {"auto_bypasses", json::array()}, {"settings", kSettings}};
  EXPECT_EQ(format_suggestions(answer),
            "no bypass suggestions (threshold 3 within 10m00s, auto_bypass on)\n");
}

TEST(SuggestCommands, ListsSuggestionsAndAutomaticBypasses) {
  const json answer = {{"suggestions",
                        {{{"id", "a1b2c3d4e5"},
                          {"kind", "client_reject"},
                          {"device", "10.0.0.5/32"},
                          {"sni", "app.example"},
                          {"ja4", "t13d1516h2_8daaf6152771_e5627efa2ab1"},
                          {"count", 5},
                          {"in_window", 3},
                          {"last_seen", "2026-01-02T03:04:05Z"},
                          {"reasons", {{"alert:unknown_ca", 2}, {"closed_after_certificate", 3}}},
                          {"auto_bypass", true}},
                         {{"id", "ffeeddccbb"},
                          {"kind", "upstream_validation"},
                          {"sni", "bad.example"},
                          {"count", 4},
                          {"in_window", 4},
                          {"last_seen", "2026-01-02T03:04:00Z"},
                          {"reasons", {{"expired", 4}}},
                          {"auto_bypass", false}}}},
                       {"auto_bypasses",
                        {{{"id", "a1b2c3d4e5"},
                          {"device", "10.0.0.5/32"},
                          {"sni", "app.example"},
                          {"state", "active"},
                          {"expires_in_s", 3540},
                          {"renewals", 0}}}},
                       {"settings", kSettings}};
  EXPECT_EQ(
      format_suggestions(answer),
      "ID          KIND                      COUNT            DEVICE       SNI          "
      "JA4                                   LAST SEEN             WHY\n"
      "a1b2c3d4e5  client_reject (bypassed)  5 (3 in window)  10.0.0.5/32  app.example  "
      "t13d1516h2_8daaf6152771_e5627efa2ab1  2026-01-02T03:04:05Z  "
      "closed_after_certificate x3, unknown_ca x2\n"
      "ffeeddccbb  upstream_validation       4 (4 in window)  any          bad.example  "
      "-                                     2026-01-02T03:04:00Z  expired x4\n"
      "(threshold 3 within 10m00s, auto_bypass on; accept with: tlsgatectl suggest accept ID)\n"
      "\n"
      "automatic bypasses:\n"
      "ID          DEVICE       SNI          STATE   EXPIRES IN  RENEWALS\n"
      "a1b2c3d4e5  10.0.0.5/32  app.example  active  59m00s      0\n");
}

TEST(SuggestCommands, AcceptAndDismissLines) {
  const json accepted = {
      {"accepted", "a1b2c3d4e5"},  {"rule", "suggested-a1b2c3d4e5"}, {"position", 1},
      {"client", {"10.0.0.5/32"}}, {"sni", {"app.example"}},         {"dst", json::array()}};
  EXPECT_EQ(format_suggest_change(accepted),
            "accepted a1b2c3d4e5: bypass rule 'suggested-a1b2c3d4e5' (client=10.0.0.5/32 "
            "sni=app.example) at position 1\n");
  EXPECT_EQ(format_suggest_change({{"dismissed", "a1b2c3d4e5"}}), "dismissed a1b2c3d4e5\n");
}

}  // namespace
}  // namespace tlsgate::ctl
