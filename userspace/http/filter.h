// The per-request checks of the active HTTP layer (DESIGN.md §4a), in the
// manner of Envoy's HTTP filters: an ordered chain of small filters, each
// seeing a request's head, then (if it asks) its body, then the response's
// head and body, and answering at every step: go on, answer locally, or wait.
//
// The chain is built per inspected flow (HttpFilterFactory::make, in the
// configured order) and run by the HTTP layer for every exchange, HTTP/1.1
// and h2 alike; the protocol engines never know what a filter checks.
//
// Order of calls for one exchange, each filter in chain order:
//   on_request_head  ─► [on_request_body] ─► (request goes upstream)
//   on_response_head ─► [on_response_body] ─► (response goes to the client)
//   on_exchange_end  (always, once: completed, replied, reset or flow ended)
// A filter's step that answers `reply` ends the exchange: later filters are
// not asked, the upstream never sees a request replied to at its head or
// body, and the client gets the reply instead of the response. `hold` stops
// the chain at that filter until the filter calls its ExchangeResumer (from
// the worker thread: ICAP answers, for instance); the engine meanwhile keeps
// the message (and, for HTTP/1.1, stops reading that connection) while other
// h2 streams go on. `need_body` asks for the whole body, held by the layer up
// to the limit given, before the filter decides (on_*_body); nothing of that
// body moves on until the filter's body step proceeds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "http/message.h"

namespace tlsgate::http {

// The inspected flow an exchange travels on. Read-only for filters.
struct FlowContext {
  Endpoint client;
  Endpoint server;                          // the original destination
  std::string sni;                          // normalized; "" when the client sent none
  std::vector<std::string> upstream_names;  // DNS and IP SANs of the validated upstream leaf
  std::string rule;                         // the rule that inspects the flow ("default")
  std::optional<size_t> rule_index;         // index into the flow's RuleSet, none for default
  std::string protocol;  // "http/1.1" | "h2"; "" until the layer chose (HttpPort::set_protocol)
};

// What a filter answers at one step.
class FilterStep {
 public:
  enum class Kind : uint8_t { proceed, reply, hold, need_body };

  static FilterStep proceed() { return FilterStep(Kind::proceed); }
  static FilterStep respond(LocalReply reply) {
    FilterStep s(Kind::reply);
    s.reply_ = std::move(reply);
    return s;
  }
  // The filter will call the exchange's resumer later.
  static FilterStep hold() { return FilterStep(Kind::hold); }
  // Only from on_request_head / on_response_head: hold this message's body,
  // up to `limit` bytes, and call on_*_body with it.
  static FilterStep need_body(size_t limit) {
    FilterStep s(Kind::need_body);
    s.body_limit_ = limit;
    return s;
  }

  Kind kind() const { return kind_; }
  const LocalReply& reply() const { return reply_; }
  LocalReply& reply() { return reply_; }
  size_t body_limit() const { return body_limit_; }

 private:
  explicit FilterStep(Kind k) : kind_(k) {}
  Kind kind_;
  LocalReply reply_;
  size_t body_limit_ = 0;
};

// A message body held for a filter. `bytes` is valid until the filter's body
// step ends (its return, or its resumer's call when it held).
struct HeldBody {
  std::span<const uint8_t> bytes;
  // false: the body passed the limit; `bytes` are its first `limit` bytes and
  // the rest has not been read yet (it moves on only if the filter proceeds).
  bool complete = true;
};

// How a filter that answered `hold` continues. A resumer acts once: its
// later calls, and any call after the exchange ended (stream reset, flow
// closed), do nothing. Worker thread only.
class ExchangeResumer {
 public:
  class Target {
   public:
    virtual ~Target() = default;
    virtual void resume_proceed() = 0;
    virtual void resume_respond(LocalReply reply) = 0;
    // Body step only: the message goes on as `head` + `body` instead of the
    // held one (an ICAP service's modified message).
    virtual void resume_replace_request(RequestHead head, std::string body) = 0;
    virtual void resume_replace_response(ResponseHead head, std::string body) = 0;
  };

  ExchangeResumer() = default;
  explicit ExchangeResumer(std::weak_ptr<Target> target) : target_(std::move(target)) {}

  void proceed() {
    if (auto t = take()) t->resume_proceed();
  }
  void respond(LocalReply reply) {
    if (auto t = take()) t->resume_respond(std::move(reply));
  }
  void replace_request(RequestHead head, std::string body) {
    if (auto t = take()) t->resume_replace_request(std::move(head), std::move(body));
  }
  void replace_response(ResponseHead head, std::string body) {
    if (auto t = take()) t->resume_replace_response(std::move(head), std::move(body));
  }
  bool alive() const { return !target_.expired(); }

 private:
  std::shared_ptr<Target> take() {
    auto t = target_.lock();
    target_.reset();
    return t;
  }
  std::weak_ptr<Target> target_;
};

// What a filter sees of one exchange.
class FilterExchange {
 public:
  virtual ~FilterExchange() = default;
  virtual const FlowContext& flow() const = 0;
  virtual const RequestHead& request() const = 0;
  virtual const ResponseHead* response() const = 0;  // null until the response head came
  virtual uint32_t stream_id() const = 0;            // h2 stream; 0 for HTTP/1.1
  // Fields this filter adds to the exchange's `http` event (e.g. "icap").
  virtual void note(std::string_view key, std::string value) = 0;
  // For a step that answers hold: the one way to continue later.
  virtual ExchangeResumer resumer() = 0;
};

class HttpFilter {
 public:
  virtual ~HttpFilter() = default;
  virtual std::string_view name() const = 0;
  virtual FilterStep on_request_head(FilterExchange& ex) {
    (void)ex;
    return FilterStep::proceed();
  }
  virtual FilterStep on_request_body(FilterExchange& ex, const HeldBody& body) {
    (void)ex, (void)body;
    return FilterStep::proceed();
  }
  virtual FilterStep on_response_head(FilterExchange& ex) {
    (void)ex;
    return FilterStep::proceed();
  }
  virtual FilterStep on_response_body(FilterExchange& ex, const HeldBody& body) {
    (void)ex, (void)body;
    return FilterStep::proceed();
  }
  // The exchange is over for this filter: drop per-exchange state, cancel
  // work in flight (its resumer does nothing from now on).
  virtual void on_exchange_end(FilterExchange& ex) { (void)ex; }
};

// Makes a flow's instance of one filter; null when the filter does not
// apply to that flow (e.g. a rule with `icap = []`). One factory per filter
// kind, read-only after construction, shared by the workers.
class HttpFilterFactory {
 public:
  virtual ~HttpFilterFactory() = default;
  virtual std::unique_ptr<HttpFilter> make(const FlowContext& flow) const = 0;
};

}  // namespace tlsgate::http
