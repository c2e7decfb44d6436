// One exchange's run through the flow's filter chain (filter.h), shared by
// the HTTP/1.1 and h2 engines: it asks the filters step by step, holds body
// bytes for the filters that want them, continues when a holding filter
// resumes, and tells the engine what to do through ExchangeCallbacks — pass
// a message on, or answer the client locally. It ends once (end()), telling
// every filter and reporting the `http` event through the port.
//
// Order within a message: every filter's head step first (a filter that
// holds stops the later ones until it resumes); then, if some filters asked
// need_body, the body is held up to the largest limit asked and their body
// steps run in chain order. Nothing of a message moves on before its steps
// all proceeded: the head, then the held body bytes, go in one pass_*.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "http/exchange.h"
#include "http/filter.h"
#include "http/http_port.h"
#include "http/message.h"

namespace tlsgate::http {

// One flow's filters, in chain order (made by the factories per flow).
using FilterChain = std::vector<std::unique_ptr<HttpFilter>>;

class ExchangeRun;

// A message the chain let through.
struct PassedMessage {
  // Body bytes held for the filters: they follow the head, before anything
  // the peer sends next. Valid during the callback only.
  std::span<const uint8_t> held_body;
  // Nothing of this body comes after held_body: the peer sent it all, or a
  // filter replaced the message (then the rest of the peer's body is dropped).
  bool body_complete = false;
  // A filter replaced the message: run.request() / run.response() is the new
  // head and held_body its whole body; its framing must be computed anew.
  bool replaced = false;
};

// Implemented by a protocol engine. Called from within the engine's own
// calls on the run (start_*, *_body) or later, from a filter's resumer.
class ExchangeCallbacks {
 public:
  virtual ~ExchangeCallbacks() = default;
  virtual void pass_request(ExchangeRun& run, const PassedMessage& message) = 0;
  virtual void pass_response(ExchangeRun& run, const PassedMessage& message) = 0;
  // The gateway answers the client instead of the upstream: the request (if
  // not yet passed) never goes upstream; the response (if any) is dropped.
  virtual void reply(ExchangeRun& run, const LocalReply& reply) = 0;
};

class ExchangeRun final : public FilterExchange,
                          public ExchangeResumer::Target,
                          public std::enable_shared_from_this<ExchangeRun> {
 public:
  // `chain` and `callbacks` outlive the run (the engine owns both).
  static std::shared_ptr<ExchangeRun> make(HttpPort& port, const FilterChain& chain,
                                           ExchangeCallbacks& callbacks, uint32_t stream_id);

  // What becomes of body bytes given to the run.
  enum class BodyAction : uint8_t {
    forward,  // the message passed: the engine sends them on itself
    held,     // the run keeps them for the filters (a later pass_* brings them)
    drop,     // the message was replaced or answered locally: discard them
  };

  // The engine parsed the request's head: the chain's head steps run now.
  void start_request(RequestHead head);
  // Request body bytes (framing removed) as they arrive; `end`: the body is
  // complete (a message without a body: empty bytes and end at once).
  BodyAction request_body(std::span<const uint8_t> bytes, bool end);
  // The same for the response, once the request passed.
  void start_response(ResponseHead head);
  BodyAction response_body(std::span<const uint8_t> bytes, bool end);

  // The engine must not read more of this message from its peer while true
  // (a filter holds it, or a held body passed its limit).
  bool request_waiting() const { return waiting(request_); }
  bool response_waiting() const { return waiting(response_); }
  bool request_passed() const { return request_.phase == Phase::passed; }
  bool replied() const { return replied_; }

  // The exchange is over; only the first call counts. `how`: completed,
  // reset, upgraded or cut by the end of the flow (a local reply's outcome
  // is kept whatever `how` says). Filters hear on_exchange_end, the port gets
  // the `http` event, and resumers do nothing from now on.
  void end(ExchangeEnd how);
  bool ended() const { return ended_; }
  // What the engine itself did to the exchange, for its event: a message it
  // refused as malformed ("bad_request", "bad_response") and the status it
  // answered with (none when it could only close).
  void mark(std::string outcome, std::string detail, std::optional<int> status);

  // FilterExchange
  const FlowContext& flow() const override;
  const RequestHead& request() const override { return request_head_; }
  const ResponseHead* response() const override;
  uint32_t stream_id() const override { return stream_id_; }
  void note(std::string_view key, std::string value) override;
  ExchangeResumer resumer() override;

  // ExchangeResumer::Target
  void resume_proceed() override;
  void resume_respond(LocalReply reply) override;
  void resume_replace_request(RequestHead head, std::string body) override;
  void resume_replace_response(ResponseHead head, std::string body) override;

  ExchangeRun(HttpPort& port, const FilterChain& chain, ExchangeCallbacks& callbacks,
              uint32_t stream_id);

 private:
  enum class Phase : uint8_t {
    idle,        // not started
    head_steps,  // filters' head steps (one holds when `holding`)
    collecting,  // holding the body for the body steps
    body_steps,  // filters' body steps (one holds when `holding`)
    passed,      // passed on: the body streams through the engine
    dropped,     // answered locally, or replaced: the peer's bytes are dropped
  };
  struct Message {
    explicit Message(bool request) : is_request(request) {}
    bool is_request;
    Phase phase = Phase::idle;
    bool holding = false;
    size_t next = 0;                   // next filter (head steps) or body_filters index
    std::vector<size_t> body_filters;  // filters that asked need_body, with their limits
    std::vector<size_t> body_limits;
    size_t limit = 0;  // the largest of body_limits
    std::string held;  // what the body steps see
    std::string late;  // bytes that came during the body steps (`held` must not move)
    bool body_ended = false;
    bool replaced = false;
    uint64_t bytes = 0;  // body bytes the peer sent
  };
  // A resume that arrived while its filter's step was still running.
  struct DeferredResume {
    enum class Kind : uint8_t { proceed, respond, replace } kind = Kind::proceed;
    LocalReply reply;
    std::optional<RequestHead> request;
    std::optional<ResponseHead> response;
    std::string body;
  };

  static bool waiting(const Message& m);
  void run_head_steps(Message& m);
  bool go_on_after(Message& m, FilterStep& step);
  void head_steps_done(Message& m);
  void run_body_steps(Message& m);
  void pass(Message& m);
  BodyAction take_body(Message& m, std::span<const uint8_t> bytes, bool end);
  void respond_locally(LocalReply reply);
  void apply_resume(DeferredResume r);
  Message* holding_message();

  HttpPort& port_;
  const FilterChain& chain_;
  ExchangeCallbacks& callbacks_;
  uint32_t stream_id_;
  RequestHead request_head_;
  std::optional<ResponseHead> response_head_;
  Message request_{true};
  Message response_{false};
  bool stepping_ = false;  // a filter's step is running
  std::optional<DeferredResume> deferred_;
  bool replied_ = false;
  bool ended_ = false;
  Exchange record_;
};

}  // namespace tlsgate::http
