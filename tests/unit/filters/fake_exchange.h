// A FilterExchange for unit tests of the request filters: one request on a
// flow, with the notes a filter adds.
#pragma once

#include <map>
#include <string>

#include "http/filter.h"

namespace tlsgate::filters::test {

class FakeExchange : public http::FilterExchange {
 public:
  FakeExchange(http::FlowContext flow, http::RequestHead request)
      : flow_(std::move(flow)), request_(std::move(request)) {}

  const http::FlowContext& flow() const override { return flow_; }
  const http::RequestHead& request() const override { return request_; }
  const http::ResponseHead* response() const override { return nullptr; }
  uint32_t stream_id() const override { return 1; }
  void note(std::string_view key, std::string value) override {
    notes[std::string(key)] = std::move(value);
  }
  http::ExchangeResumer resumer() override { return {}; }

  std::map<std::string, std::string> notes;

 private:
  http::FlowContext flow_;
  http::RequestHead request_;
};

inline http::FlowContext flow_to(std::string sni, std::string client = "10.0.0.5") {
  http::FlowContext flow;
  flow.client = Endpoint{*IpAddress::parse(client), 51234};
  flow.server = Endpoint{*IpAddress::parse("192.0.2.10"), 443};
  flow.sni = std::move(sni);
  flow.rule = "default";
  flow.protocol = "h2";
  return flow;
}

inline http::RequestHead request(std::string method, std::string authority, std::string path) {
  http::RequestHead head;
  head.method = std::move(method);
  head.scheme = "https";
  head.authority = std::move(authority);
  head.path = std::move(path);
  return head;
}

}  // namespace tlsgate::filters::test
