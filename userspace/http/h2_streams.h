// The streams an h2 engine relays: each client stream, paired once its
// request went upstream with the stream that carries it there. A stream is
// kept until both sessions closed their side of it (or it never went
// upstream and the client side closed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "http/exchange.h"
#include "http/filter.h"
#include "http/h2_body_queue.h"
#include "http/message.h"

namespace tlsgate::http {

class H2Engine;

// Where a stream's exchange stands.
enum class H2Phase : uint8_t {
  request_head,      // the client's HEADERS are still coming
  request_filters,   // the filters look at the request head (or hold it)
  upstream,          // the request went upstream; its response head has not come
  response_filters,  // the filters look at the response head (or hold it)
  responding,        // the response (or a local reply) goes to the client
};

// How a held filter step comes back to its stream; dies with the stream.
class H2StreamResumer final : public ExchangeResumer::Target {
 public:
  H2StreamResumer(H2Engine& engine, int32_t client_id) : engine_(engine), client_id_(client_id) {}
  void resume_proceed() override;
  void resume_respond(LocalReply reply) override;
  void resume_replace_request(RequestHead head, std::string body) override;
  void resume_replace_response(ResponseHead head, std::string body) override;

 private:
  H2Engine& engine_;
  int32_t client_id_;
};

struct H2Stream final : public FilterExchange {
  H2Stream(H2Engine& owner, const FlowContext& flow, int32_t id)
      : engine(owner), flow_context(flow), client_id(id) {}

  // FilterExchange
  const FlowContext& flow() const override { return flow_context; }
  const RequestHead& request() const override { return request_head; }
  const ResponseHead* response() const override {
    return final_response ? &response_head : nullptr;
  }
  uint32_t stream_id() const override { return static_cast<uint32_t>(client_id); }
  void note(std::string_view key, std::string value) override {
    notes[std::string(key)] = std::move(value);
  }
  ExchangeResumer resumer() override;

  H2Engine& engine;
  const FlowContext& flow_context;
  const int32_t client_id;
  int32_t upstream_id = 0;  // 0: the request has not gone upstream
  H2Phase phase = H2Phase::request_head;

  RequestHead request_head;
  ResponseHead response_head;  // the final one once final_response
  bool final_response = false;
  H2BodyQueue request_body;   // client → upstream
  H2BodyQueue response_body;  // upstream (or a local reply) → client

  // Filter steps: the next filter to ask, and the target of a held step.
  size_t next_filter = 0;
  std::shared_ptr<H2StreamResumer> held;

  // Set when the reply is the gateway's own: the upstream never sees it, or
  // no longer does.
  std::optional<LocalReply> local_reply;
  bool response_submitted = false;  // HEADERS went (or are queued) to the client
  bool response_deferred = false;   // the client-side data source waits for bytes
  bool request_deferred = false;    // the upstream-side data source waits for bytes
  bool client_closed = false;
  bool upstream_closed = false;
  uint32_t client_error = 0;  // the codes their closes came with
  uint32_t upstream_error = 0;
  bool tunnel = false;  // CONNECT: the stream carries bytes, not a message

  uint64_t request_bytes = 0;
  uint64_t response_bytes = 0;
  std::map<std::string, std::string> notes;
};

class H2Streams {
 public:
  H2Stream* by_client(int32_t id);
  H2Stream* by_upstream(int32_t id);
  H2Stream& add(std::unique_ptr<H2Stream> s);
  void pair(H2Stream& s, int32_t upstream_id);
  // Removes it; returns it for its last rites.
  std::unique_ptr<H2Stream> remove(int32_t client_id);
  size_t size() const { return streams_.size(); }
  template <typename Fn>
  void for_each(Fn fn) {
    for (auto& [id, s] : streams_) fn(*s);
  }
  std::vector<int32_t> client_ids() const;

 private:
  std::map<int32_t, std::unique_ptr<H2Stream>> streams_;  // by client stream id
  std::unordered_map<int32_t, int32_t> upstream_to_client_;
};

}  // namespace tlsgate::http
