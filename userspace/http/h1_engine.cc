#include "http/h1_engine.h"

#include <cstdio>
#include <utility>
#include <variant>

#include "http/h1_serialize.h"

namespace tlsgate::http {

namespace {

std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string_view as_text(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

LocalReply gateway_error(int status, const char* outcome, const char* reason) {
  LocalReply r;
  r.status = status;
  r.headers.push_back({"Content-Type", "text/plain; charset=utf-8"});
  r.body =
      std::to_string(status) + " " + std::string(reason_phrase(status)) + " (" + reason + ")\n";
  r.outcome = outcome;
  r.detail = reason;
  r.close_connection = true;
  return r;
}

void release(std::string& s) {
  std::string().swap(s);
}

}  // namespace

std::unique_ptr<ProtocolEngine> make_h1_engine(HttpPort& port, const FilterChain& chain) {
  return std::make_unique<H1Engine>(port, chain);
}

H1Engine::H1Engine(HttpPort& port, const FilterChain& chain) : port_(port), chain_(chain) {}

H1Engine::~H1Engine() {
  on_flow_end();
}

// ---------------------------------------------------------------- input

void H1Engine::on_bytes(Peer from, std::span<const uint8_t> bytes) {
  if (closing_) return;
  if (raw_) {  // the layer relays raw flows itself; bytes in flight when it switched
    send(other(from), as_text(bytes));
    return;
  }
  std::string& backlog = from == Peer::client ? client_backlog_ : upstream_backlog_;
  if (backlog.empty() && !busy_) {
    busy_ = true;
    const size_t used = from == Peer::client ? read_client(bytes) : read_upstream(bytes);
    busy_ = false;
    if (used < bytes.size() && !closing_) backlog.append(as_text(bytes.subspan(used)));
  } else {
    backlog.append(as_text(bytes));
  }
  pump();
}

void H1Engine::pump() {
  if (busy_) return;
  busy_ = true;
  bool progress = true;
  while (progress && !closing_ && !raw_) {
    progress = false;
    for (Peer p : {Peer::client, Peer::upstream}) {
      std::string& backlog = p == Peer::client ? client_backlog_ : upstream_backlog_;
      if (backlog.empty() || closing_ || raw_) continue;
      const size_t used =
          p == Peer::client ? read_client(as_bytes(backlog)) : read_upstream(as_bytes(backlog));
      if (used == 0) continue;
      backlog.erase(0, used);
      if (backlog.empty()) release(backlog);
      progress = true;
    }
  }
  if (raw_) {  // what each side sent after the switch goes on as it is
    send(Peer::upstream, client_backlog_);
    send(Peer::client, upstream_backlog_);
  }
  if (raw_ || closing_) {
    release(client_backlog_);
    release(upstream_backlog_);
  }
  busy_ = false;
  maybe_end_read_until_close();
  maybe_continue();
  update_pauses();
  maybe_close_on_end();
}

size_t H1Engine::read_client(std::span<const uint8_t> in) {
  size_t used_total = 0;
  while (used_total < in.size() && !closing_ && !raw_) {
    std::span<const uint8_t> rest = in.subspan(used_total);
    size_t used = 0;
    if (request_reading_ == Reading::head) {
      const auto status = request_head_.feed(rest, used);
      used_total += used;
      if (status == H1HeadCollector::Status::over_limit) {
        refuse_request("head_too_long");
        break;
      }
      if (status == H1HeadCollector::Status::need_more) continue;
      auto parsed = parse_h1_request(request_head_.head());
      request_head_.reset();
      if (auto* error = std::get_if<H1Error>(&parsed)) {
        refuse_request(error->reason.c_str());
        break;
      }
      start_exchange(std::move(std::get<H1Request>(parsed)));
      continue;
    }
    if (request_reading_ == Reading::done) break;  // the next request waits for this response
    if (!run_ || run_->request_waiting()) break;
    std::span<const uint8_t> payload;
    const auto status = request_body_.feed(rest, used, payload);
    used_total += used;
    if (status == H1BodyDecoder::Status::malformed) {
      refuse_request(request_body_.error());
      break;
    }
    const bool end = status == H1BodyDecoder::Status::done;
    if (!payload.empty() || end) request_payload(payload, end);
  }
  return used_total;
}

size_t H1Engine::read_upstream(std::span<const uint8_t> in) {
  size_t used_total = 0;
  while (used_total < in.size() && !closing_ && !raw_) {
    std::span<const uint8_t> rest = in.subspan(used_total);
    size_t used = 0;
    if (response_reading_ == Reading::done) {  // nothing was asked
      refuse_response("unrequested_response");
      break;
    }
    if (response_reading_ == Reading::head) {
      const auto status = response_head_.feed(rest, used);
      used_total += used;
      if (status == H1HeadCollector::Status::over_limit) {
        refuse_response("head_too_long");
        break;
      }
      if (status == H1HeadCollector::Status::need_more) continue;
      auto parsed = parse_h1_response(response_head_.head());
      response_head_.reset();
      if (auto* error = std::get_if<H1Error>(&parsed)) {
        refuse_response(error->reason.c_str());
        break;
      }
      if (!start_response(std::move(std::get<H1Response>(parsed)))) break;
      continue;
    }
    if (!run_ || run_->response_waiting()) break;
    std::span<const uint8_t> payload;
    const auto status = response_body_.feed(rest, used, payload);
    used_total += used;
    if (status == H1BodyDecoder::Status::malformed) {
      refuse_response(response_body_.error());
      break;
    }
    const bool end = status == H1BodyDecoder::Status::done;
    if (!payload.empty() || end) response_payload(payload, end);
  }
  return used_total;
}

void H1Engine::on_end_of_stream(Peer from) {
  (from == Peer::client ? client_ended_ : upstream_ended_) = true;
  pump();
}

// A response read to the end of the connection is complete once the upstream
// ended and every byte it sent before was read (bytes a holding filter kept
// in the backlog come first).
void H1Engine::maybe_end_read_until_close() {
  if (!upstream_ended_ || busy_ || !run_ || closing_ || raw_ || !upstream_backlog_.empty() ||
      response_reading_ != Reading::body || !response_body_.until_close()) {
    return;
  }
  busy_ = true;
  response_payload({}, true);
  busy_ = false;
}

// After the upstream's end: a response still to deliver keeps the flow open,
// whether all of it came and a filter holds it, or its read-until-close end
// waits behind the bytes a holding filter kept.
bool H1Engine::delivering_after_upstream_end() const {
  if (!run_ || closing_ || raw_ || response_passed_) return false;
  return response_complete_ || (response_reading_ == Reading::body && response_body_.until_close());
}

// After a peer's end: the upstream's ends the flow unless a response still
// waits for its filters; the client's unless its whole request waits for the
// response (what it sent after that cannot be answered).
void H1Engine::maybe_close_on_end() {
  if (closed_ || raw_ || busy_) return;
  if (upstream_ended_ && !delivering_after_upstream_end()) {
    close("upstream_closed");
    return;
  }
  if (client_ended_ && !(run_ && request_reading_ == Reading::done)) close("client_closed");
}

void H1Engine::on_flow_end() {
  if (!run_) return;
  auto run = std::move(run_);
  run->end(ExchangeEnd::incomplete);
}

// ---------------------------------------------------------------- requests

void H1Engine::start_exchange(H1Request request) {
  request_ = {request.minor_version, request.framing, request.keep_alive};
  expect_continue_ = request.expect_continue;
  sent_continue_ = false;
  upgrade_offered_ = request.upgrade;
  connect_ = request.head.method == "CONNECT";
  head_request_ = request.head.method == "HEAD";
  request_passed_ = false;
  response_passed_ = false;
  response_complete_ = false;
  tunnel_after_response_ = false;
  switch (request.framing) {
    case BodyFraming::length:
      request_body_.start_length(request.content_length);
      request_reading_ = Reading::body;
      break;
    case BodyFraming::chunked:
      request_body_.start_chunked();
      request_reading_ = Reading::body;
      break;
    case BodyFraming::none:
    case BodyFraming::until_close:  // never for a request
      request_reading_ = Reading::done;
      break;
  }
  run_ = ExchangeRun::make(port_, chain_, *this, 0);
  auto run = run_;
  run->start_request(std::move(request.head));
  if (run_ == run && !closing_ && request_reading_ == Reading::done) request_payload({}, true);
}

// The run may end (and the engine let go of it) inside its own call: the
// engine holds it for the call's length.
void H1Engine::request_payload(std::span<const uint8_t> payload, bool end) {
  std::shared_ptr<ExchangeRun> run = run_;
  if (!run) return;
  if (end) request_reading_ = Reading::done;
  auto action = run->request_body(payload, end);
  if (action == ExchangeRun::BodyAction::forward) {
    forward_body(Peer::upstream, request_.body, payload, end, request_body_.trailers());
  }
  if (end) maybe_finish();
}

void H1Engine::pass_request(ExchangeRun& run, const PassedMessage& message) {
  RequestHead head = run.request();
  if (sent_continue_) remove_field(head.headers, "expect");  // answered by the gateway
  if (message.replaced) set_content_length(head.headers, message.held_body.size());
  send(Peer::upstream, serialize_request_head(head, request_.minor_version));
  request_passed_ = true;
  response_reading_ = Reading::head;
  response_head_.reset();
  if (message.replaced) {
    send(Peer::upstream, as_text(message.held_body));
  } else {
    forward_body(Peer::upstream, request_.body, message.held_body, message.body_complete,
                 request_body_.trailers());
  }
  if (!busy_) pump();
}

void H1Engine::maybe_continue() {
  if (!expect_continue_ || sent_continue_ || !run_ || request_passed_ || run_->replied() ||
      request_reading_ != Reading::body || run_->request_waiting()) {
    return;
  }
  // The filters hold the body before it may go upstream: the client sends it
  // only once told to continue.
  send(Peer::client, "HTTP/1.1 100 Continue\r\n\r\n");
  sent_continue_ = true;
}

// ---------------------------------------------------------------- responses

// False when reading this head stopped the HTTP reading (switch, refusal).
bool H1Engine::start_response(H1Response response) {
  const int status = response.head.status;
  if (status < 200) {
    if (status == 101) {
      if (!upgrade_offered_) {
        refuse_response("unrequested_switch");
        return false;
      }
      send(Peer::client,
           serialize_response_head(response.head, response.reason, response.minor_version));
      if (run_) run_->mark("", "", 101);
      switch_to_raw();
      return false;
    }
    // 100 Continue the gateway already gave; other interim answers go on.
    if (!(status == 100 && sent_continue_)) {
      send(Peer::client,
           serialize_response_head(response.head, response.reason, response.minor_version));
    }
    return true;
  }
  response_ = {response.minor_version, response.framing, response.keep_alive};
  response_reason_ = std::move(response.reason);
  if (head_request_) response_.body = BodyFraming::none;
  if (connect_ && status / 100 == 2) {
    tunnel_after_response_ = true;
    response_.body = BodyFraming::none;
  }
  switch (response_.body) {
    case BodyFraming::length:
      response_body_.start_length(response.content_length);
      break;
    case BodyFraming::chunked:
      response_body_.start_chunked();
      break;
    case BodyFraming::until_close:
      response_body_.start_until_close();
      break;
    case BodyFraming::none:
      break;
  }
  response_reading_ = Reading::body;
  auto run = run_;
  run->start_response(std::move(response.head));
  if (run_ != run || closing_ || raw_) return false;
  if (response_.body == BodyFraming::none) response_payload({}, true);
  return !closing_ && !raw_;
}

void H1Engine::response_payload(std::span<const uint8_t> payload, bool end) {
  std::shared_ptr<ExchangeRun> run = run_;
  if (!run) return;
  if (end) response_reading_ = Reading::done;
  auto action = run->response_body(payload, end);
  if (action == ExchangeRun::BodyAction::forward) {
    forward_body(Peer::client, response_.body, payload, end, response_body_.trailers());
  }
  if (end) {
    response_complete_ = true;
    maybe_finish();
  }
}

void H1Engine::pass_response(ExchangeRun& run, const PassedMessage& message) {
  ResponseHead head = *run.response();
  std::string_view reason = response_reason_;
  if (message.replaced) {
    set_content_length(head.headers, message.held_body.size());
    reason = reason_phrase(head.status);
  }
  send(Peer::client, serialize_response_head(head, reason, response_.minor_version));
  response_passed_ = true;
  if (message.replaced) {
    if (!head_request_) send(Peer::client, as_text(message.held_body));
  } else {
    forward_body(Peer::client, response_.body, message.held_body, message.body_complete,
                 response_body_.trailers());
  }
  if (tunnel_after_response_) {
    switch_to_raw();
  } else {
    maybe_finish();
  }
  if (!busy_) pump();
}

// ---------------------------------------------------------------- the exchange

void H1Engine::forward_body(Peer to, BodyFraming framing, std::span<const uint8_t> payload,
                            bool end, std::string_view trailers) {
  if (framing != BodyFraming::chunked) {
    send(to, as_text(payload));
    return;
  }
  std::string& out = chunk_buffer_;
  out.clear();
  if (!payload.empty()) {
    char size[20];
    const int n = std::snprintf(size, sizeof size, "%zx\r\n", payload.size());
    out.append(size, static_cast<size_t>(n));
    out.append(as_text(payload));
    out += "\r\n";
  }
  if (end) {
    out += "0\r\n";
    out += trailers;
    out += "\r\n";
  }
  send(to, out);
}

void H1Engine::maybe_finish() {
  if (run_ && request_reading_ == Reading::done && response_complete_ && response_passed_) {
    exchange_done(request_.keep_alive && response_.keep_alive);
  }
}

// The exchange is over; the next request may be read (`keep_alive`), or the
// peers close the connection as they said they would.
void H1Engine::exchange_done(bool keep_alive) {
  auto run = std::move(run_);
  run->end(ExchangeEnd::complete);
  request_reading_ = Reading::head;
  response_reading_ = Reading::done;
  request_passed_ = response_passed_ = response_complete_ = false;
  expect_continue_ = sent_continue_ = false;
  head_request_ = connect_ = upgrade_offered_ = false;
  release(response_reason_);
  release(chunk_buffer_);
  if (!keep_alive) {
    // "Connection: close" (or HTTP/1.0): the peers end the connection; what
    // a client sends after it is not read.
    closing_ = true;
    release(client_backlog_);
    release(upstream_backlog_);
  }
  if (!busy_) pump();
}

// Whether the rest of a request the gateway answered can be read and dropped
// to keep the connection (kMaxDiscardedBody).
bool H1Engine::can_discard_request_body() const {
  if (request_reading_ == Reading::done) return true;
  if (expect_continue_ && !sent_continue_) return false;  // the client may never send it
  return request_.body == BodyFraming::length &&
         request_body_.remaining_length() <= kMaxDiscardedBody;
}

void H1Engine::reply(ExchangeRun& run, const LocalReply& reply) {
  (void)run;
  const bool keep_alive = !reply.close_connection && !request_passed_ && !upstream_ended_ &&
                          request_.keep_alive && can_discard_request_body();
  send(Peer::client, serialize_local_reply(reply, head_request_, !keep_alive));
  if (keep_alive) {
    // The exchange ends once the rest of the request's body was read (the
    // run drops it): the next request is read after it.
    response_ = Framing{};
    response_passed_ = response_complete_ = true;
    maybe_finish();
    return;
  }
  auto ending = std::move(run_);
  ending->end(ExchangeEnd::complete);
  close("http_" + (reply.outcome.empty() ? std::string("local_reply") : reply.outcome));
}

void H1Engine::refuse_request(const char* reason) {
  port_.count_bad_request();
  const bool can_answer = !response_passed_;
  if (run_) {
    run_->mark("bad_request", reason, can_answer ? std::optional<int>(400) : std::nullopt);
    auto ending = std::move(run_);
    ending->end(ExchangeEnd::complete);
  } else {
    Exchange x;
    x.status = 400;
    x.outcome = "bad_request";
    x.detail = reason;
    port_.emit_exchange(x);
  }
  if (can_answer) {
    send(Peer::client,
         serialize_local_reply(gateway_error(400, "bad_request", reason), head_request_, true));
  }
  close("http_bad_request");
}

void H1Engine::refuse_response(const char* reason) {
  port_.count_unparsed();
  const bool can_answer = !response_passed_;
  if (run_) {
    run_->mark("bad_response", reason, can_answer ? std::optional<int>(502) : std::nullopt);
    auto ending = std::move(run_);
    ending->end(ExchangeEnd::complete);
  }
  if (can_answer) {
    send(Peer::client,
         serialize_local_reply(gateway_error(502, "bad_response", reason), head_request_, true));
  }
  close("http_bad_response");
}

void H1Engine::switch_to_raw() {
  raw_ = true;
  if (run_) {
    auto ending = std::move(run_);
    ending->end(ExchangeEnd::upgrade);
  }
  // A peer that ended before the switch: the relay passes its end on.
  if (client_ended_) port_.end_stream(Peer::upstream);
  if (upstream_ended_) port_.end_stream(Peer::client);
  if (!busy_) pump();
}

// ---------------------------------------------------------------- plumbing

// Each side's state is computed just before it is applied: resuming a side
// may feed the engine at once (a filter resumed from outside the layer).
void H1Engine::update_pauses() {
  for (Peer peer : {Peer::client, Peer::upstream}) {
    bool hold = false;
    if (!raw_ && !closing_) {
      if (peer == Peer::client) {
        hold = client_backlog_.size() >= kMaxBacklog ||
               (run_ && request_reading_ == Reading::body && run_->request_waiting());
      } else {
        hold = upstream_backlog_.size() >= kMaxBacklog ||
               (run_ && response_reading_ == Reading::body && run_->response_waiting());
      }
    }
    bool& paused = paused_[static_cast<int>(peer)];
    if (hold == paused) continue;
    paused = hold;
    if (hold) {
      port_.pause_reading(peer);
    } else {
      port_.resume_reading(peer);
    }
  }
}

void H1Engine::send(Peer to, std::string_view bytes) {
  if (!bytes.empty()) port_.send(to, as_bytes(bytes));
}

void H1Engine::close(std::string reason) {
  closing_ = true;
  closed_ = true;
  release(client_backlog_);
  release(upstream_backlog_);
  port_.close_after_flush(std::move(reason));
}

}  // namespace tlsgate::http
