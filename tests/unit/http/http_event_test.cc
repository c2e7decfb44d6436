#include "http/http_event.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tlsgate::http {
namespace {

HttpEvent h2_event() {
  HttpEvent e;
  e.client = "10.0.0.5:51234";
  e.server = "192.0.2.1:443";
  e.sni = "a.example";
  e.protocol = "h2";
  e.exchange.method = "POST";
  e.exchange.host = "a.example";
  e.exchange.path = "/upload?x=1";
  e.exchange.status = 201;
  e.exchange.request_bytes = 1000;
  e.exchange.response_bytes = 19;
  e.exchange.stream_id = 3;
  return e;
}

TEST(HttpEvent, CarriesTheFlowAndTheExchange) {
  const nlohmann::json j = to_json(h2_event());
  EXPECT_EQ(j, nlohmann::json::parse(R"({
    "client": "10.0.0.5:51234", "server": "192.0.2.1:443", "sni": "a.example",
    "protocol": "h2", "method": "POST", "host": "a.example", "path": "/upload?x=1",
    "status": 201, "request_bytes": 1000, "response_bytes": 19, "stream": 3,
    "outcome": "complete"})"));
}

TEST(HttpEvent, WhatIsMissingIsLeftOut) {
  HttpEvent e = h2_event();
  e.sni.reset();
  e.protocol = "http/1.1";
  e.exchange.host.clear();
  e.exchange.status.reset();
  e.exchange.stream_id = 0;
  e.exchange.path_truncated = true;
  e.exchange.end = ExchangeEnd::incomplete;
  const nlohmann::json j = to_json(e);
  for (const char* absent : {"sni", "host", "status", "stream"}) {
    EXPECT_FALSE(j.contains(absent)) << absent;
  }
  EXPECT_EQ(j["path_truncated"], true);
  EXPECT_EQ(j["outcome"], "incomplete");
  EXPECT_EQ(j["protocol"], "http/1.1");
}

}  // namespace
}  // namespace tlsgate::http
