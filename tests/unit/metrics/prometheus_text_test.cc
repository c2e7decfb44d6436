#include "metrics/prometheus_text.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace tlsgate::metrics {
namespace {

TEST(PrometheusText, FamiliesWithHelpTypeAndLabels) {
  const std::vector<MetricFamily> families = {
      {"tlsgate_flows_total",
       "Flows by verdict.",
       "counter",
       {{{{"verdict", "inspect"}}, 3}, {{{"verdict", "bypass"}}, 0}}},
      {"tlsgate_connections_active", "Open flows.", "gauge", {{{}, 2}}},
  };
  EXPECT_EQ(render(families),
            "# HELP tlsgate_flows_total Flows by verdict.\n"
            "# TYPE tlsgate_flows_total counter\n"
            "tlsgate_flows_total{verdict=\"inspect\"} 3\n"
            "tlsgate_flows_total{verdict=\"bypass\"} 0\n"
            "# HELP tlsgate_connections_active Open flows.\n"
            "# TYPE tlsgate_connections_active gauge\n"
            "tlsgate_connections_active 2\n");
}

TEST(PrometheusText, EscapesAndNumbers) {
  const std::vector<MetricFamily> families = {
      {"m",
       "a \\ b\nc \"q\"",
       "gauge",
       {{{{"l", "x\"y\\z\nw"}, {"k", ""}}, 0.5}, {{}, 18446744073709551615.0}, {{}, 1234567}}},
  };
  EXPECT_EQ(render(families),
            "# HELP m a \\\\ b\\nc \"q\"\n# TYPE m gauge\n"
            "m{l=\"x\\\"y\\\\z\\nw\",k=\"\"} 0.5\n"
            "m 1.8446744073709552e+19\n"
            "m 1234567\n");
}

TEST(PrometheusText, RefusesInvalidNames) {
  EXPECT_THROW(render({{"1bad", "", "counter", {}}}), std::invalid_argument);
  EXPECT_THROW(render({{"ok", "", "summary", {}}}), std::invalid_argument);
  EXPECT_THROW(render({{"ok", "", "gauge", {{{{"bad-label", "v"}}, 1}}}}), std::invalid_argument);
  EXPECT_THROW(render({{"ok", "", "gauge", {{{{"a:b", "v"}}, 1}}}}), std::invalid_argument);
  EXPECT_NO_THROW(render({{"ns:ok_1", "", "gauge", {{{{"_l1", "v"}}, 1}}}}));
}

TEST(PrometheusText, HistogramSamplesCarryTheirSuffix) {
  std::string text = render({{"lat_seconds",
                              "Latency.",
                              "histogram",
                              {{{{"le", "0.1"}}, 2, "_bucket"},
                               {{{"le", "+Inf"}}, 3, "_bucket"},
                               {{}, 0.5, "_sum"},
                               {{}, 3, "_count"}}}});
  EXPECT_NE(text.find("# TYPE lat_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"0.1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_sum 0.5\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_count 3\n"), std::string::npos);
  EXPECT_THROW(render({{"c_total", "", "counter", {{{}, 1, "_bucket"}}}}), std::invalid_argument);
  EXPECT_THROW(render({{"h", "", "histogram", {{{}, 1, "_max"}}}}), std::invalid_argument);
}

}  // namespace
}  // namespace tlsgate::metrics
