// A FilterExchange for driving one filter by hand, with a resumer target
// that records how the filter continued.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/filter.h"

namespace tlsgate::test_support {

struct ResumeRecord : http::ExchangeResumer::Target {
  enum class How { none, proceed, respond, replace_request, replace_response };
  How how = How::none;
  int calls = 0;
  http::LocalReply reply;
  std::optional<http::RequestHead> request;
  std::optional<http::ResponseHead> response;
  std::string body;

  void resume_proceed() override { record(How::proceed); }
  void resume_respond(http::LocalReply r) override {
    record(How::respond);
    reply = std::move(r);
  }
  void resume_replace_request(http::RequestHead h, std::string b) override {
    record(How::replace_request);
    request = std::move(h);
    body = std::move(b);
  }
  void resume_replace_response(http::ResponseHead h, std::string b) override {
    record(How::replace_response);
    response = std::move(h);
    body = std::move(b);
  }

 private:
  void record(How h) {
    how = h;
    ++calls;
  }
};

class FakeExchange : public http::FilterExchange {
 public:
  http::FlowContext flow_context;
  http::RequestHead request_head;
  std::optional<http::ResponseHead> response_head;
  uint32_t stream = 0;
  std::shared_ptr<ResumeRecord> target = std::make_shared<ResumeRecord>();
  std::vector<std::pair<std::string, std::string>> notes;

  const http::FlowContext& flow() const override { return flow_context; }
  const http::RequestHead& request() const override { return request_head; }
  const http::ResponseHead* response() const override {
    return response_head ? &*response_head : nullptr;
  }
  uint32_t stream_id() const override { return stream; }
  void note(std::string_view key, std::string value) override {
    notes.emplace_back(std::string(key), std::move(value));
  }
  http::ExchangeResumer resumer() override { return http::ExchangeResumer(target); }
};

}  // namespace tlsgate::test_support
