#include "ctl/human_output.h"

#include <gtest/gtest.h>

namespace tlsgate::ctl {
namespace {

using nlohmann::json;

TEST(HumanOutput, Durations) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(59), "59s");
  EXPECT_EQ(format_duration(61), "1m01s");
  EXPECT_EQ(format_duration(3720), "1h02m");
  EXPECT_EQ(format_duration(90000), "1d01h");
}

TEST(HumanOutput, RulesTableSaysWhereEachIsDecided) {
  const json list = json::parse(R"({"default_action":"inspect","rules":[
    {"position":1,"name":"banks","action":"bypass","sni":["*.bank.example"],"dst":[],
     "client":[],"port":[],"kernel":false},
    {"position":2,"name":"printers","action":"bypass","sni":[],"dst":[],
     "client":["192.0.2.0/28"],"port":[],"kernel":true},
    {"position":3,"name":"all","action":"block","sni":[],"dst":[],"client":[],"port":[443],
     "kernel":false}]})");
  EXPECT_EQ(format_rules(list, ""),
            "#  NAME      ACTION  MATCH                DECIDED IN\n"
            "1  banks     bypass  sni=*.bank.example   userspace\n"
            "2  printers  bypass  client=192.0.2.0/28  kernel\n"
            "3  all       block   port=443             userspace\n"
            "default action: inspect\n");
  EXPECT_EQ(format_rules(list, "bypass").find("all"), std::string::npos);
  EXPECT_EQ(format_rules(json::parse(R"({"default_action":"block","rules":[]})"), "bypass"),
            "no bypass rules; default action: block\n");
}

TEST(HumanOutput, FlowsTableAndMissingWorkers) {
  const json flows = json::parse(R"({"flows":[{"client":"10.0.0.2:5000",
      "server":"192.0.2.1:443","state":"relaying","age_ms":61000,"worker":1,
      "sni":"shop.example","action":"inspect","rule":"default",
      "bytes_from_client":120,"bytes_from_server":4096}],
      "workers_not_answering":1})");
  EXPECT_EQ(format_flows(flows),
            "CLIENT         SERVER         SNI           ACTION   RULE     STATE     BYTES IN/OUT  "
            "AGE    WORKER\n"
            "10.0.0.2:5000  192.0.2.1:443  shop.example  inspect  default  relaying  120/4096      "
            "1m01s  1\n"
            "1 flow\n"
            "warning: 1 worker(s) did not answer; their flows are missing\n");
}

TEST(HumanOutput, EventLineIsTimeAndSummary) {
  const json event = json::parse(R"({"type":"tls","ts":"2024-05-01T10:00:00.000Z",
      "class":"expired","server":"192.0.2.1:443","sni":"e.example","action":"block",
      "detail":"certificate has expired"})");
  EXPECT_EQ(format_event(event),
            "2024-05-01T10:00:00.000Z tls expired 192.0.2.1:443 "
            "sni=e.example block - certificate has expired");
}

TEST(HumanOutput, StatusShowsWhereThingsAre) {
  const json status = json::parse(R"({"version":"0.1.0","pid":42,"uptime_s":3720,
      "config_file":"/etc/tlsgate/tlsgate.toml","lan_interfaces":["eth1","eth2"],
      "intercept_ports":[443],"listen_port":15443,"workers":2,"fail_mode":"open","rules":3,
      "default_action":"inspect","kernel_side":"installed","connections_active":5,
      "paths":{"event_log":"/var/log/tlsgate/events.jsonl",
               "control_socket":"/run/tlsgate/control.sock"},
      "metrics_listen":"127.0.0.1:9477","event_journal":true,
      "last_reload":{"time":"2024-05-01T10:00:00Z","ok":false,"error":"bad"}})");
  const std::string text = format_status(status);
  EXPECT_TRUE(text.starts_with("tlsgated 0.1.0, pid 42, up 1h02m\n")) << text;
  EXPECT_NE(text.find("interfaces    eth1,eth2 (ports 443 -> listener 15443)\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("metrics       http://127.0.0.1:9477/metrics\n"), std::string::npos);
  EXPECT_NE(text.find("events        /var/log/tlsgate/events.jsonl + journal\n"),
            std::string::npos);
  EXPECT_NE(text.find("last reload   2024-05-01T10:00:00Z refused: bad\n"), std::string::npos);
}

}  // namespace
}  // namespace tlsgate::ctl

namespace tlsgate::ctl {
namespace {

TEST(HumanOutput, StatusShowsEachIcapService) {
  nlohmann::json status = {{"version", "0.1.0"}, {"pid", 1}, {"uptime_s", 5}};
  status["icap"] = nlohmann::json::array({{{"name", "av"},
                                           {"url", "icap://127.0.0.1:1344/avscan"},
                                           {"method", "respmod"},
                                           {"on_error", "block"},
                                           {"up", true},
                                           {"istag", "CI0001-x"},
                                           {"connections", 3}},
                                          {{"name", "dlp"},
                                           {"url", "icap://10.0.0.9:1344/dlp"},
                                           {"method", "reqmod"},
                                           {"on_error", "pass"},
                                           {"up", false},
                                           {"down_for_s", 125},
                                           {"istag", ""},
                                           {"connections", 0}}});
  const std::string text = format_status(status);
  EXPECT_NE(text.find("icap av"), std::string::npos) << text;
  EXPECT_NE(text.find("up, respmod icap://127.0.0.1:1344/avscan, istag CI0001-x, 3 connections"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("DOWN for 2m05s, reqmod icap://10.0.0.9:1344/dlp, istag -, 0 connections, "
                      "on_error pass"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace tlsgate::ctl
