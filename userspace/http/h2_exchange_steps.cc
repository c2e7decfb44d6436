// What happens to an h2 exchange: the request's head and body go to its
// run (exchange_run.h), which answers through pass_request — then it goes
// upstream — or reply — then the client gets the gateway's answer on that
// stream only; the response likewise.
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <utility>

#include "http/h2_engine.h"
#include "http/h2_sides.h"

namespace tlsgate::http {

namespace {

// Responses to HEAD, and 204 / 304, carry no body (RFC 9110 §6.4.1).
bool bodiless(const RequestHead& request, int status) {
  return request.method == "HEAD" || status == 204 || status == 304;
}

bool is_content_length(std::string_view name) {
  constexpr std::string_view kName = "content-length";
  return std::ranges::equal(
      name, kName, [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

// A message a filter replaced: its length is the new body's.
void set_content_length(HeaderList& headers, size_t length) {
  std::erase_if(headers, [](const HeaderField& f) { return is_content_length(f.name); });
  headers.push_back({"content-length", std::to_string(length)});
}

std::string_view chars(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

// ------------------------------------------------------------------ request

void H2Engine::request_head_done(H2Stream& s, bool end_stream) {
  s.client_ended = end_stream;
  s.tunnel = s.request_head.method == "CONNECT";
  s.phase = H2Phase::request_filters;
  s.run = ExchangeRun::make(port_, chain_, *this, static_cast<uint32_t>(s.client_id));
  const std::shared_ptr<ExchangeRun> run = s.run;
  run->start_request(std::move(s.request_head));
  if (end_stream) run->request_body({}, true);
}

void H2Engine::request_data(H2Stream& s, std::span<const uint8_t> bytes) {
  if (!s.run || s.upstream_closed) {
    consume(Peer::client, s.client_id, bytes.size());  // nobody will take it
    return;
  }
  switch (s.run->request_body(bytes, false)) {
    case ExchangeRun::BodyAction::forward:
      s.request_body.append(bytes);
      wake_upstream_data(s);
      return;
    case ExchangeRun::BodyAction::held:
      if (s.run->request_waiting()) {
        owe(Peer::client, s, bytes.size());  // the client's window stays shut meanwhile
      } else {
        consume(Peer::client, s.client_id, bytes.size());
      }
      return;
    case ExchangeRun::BodyAction::drop:
      consume(Peer::client, s.client_id, bytes.size());
      return;
  }
}

void H2Engine::request_ended(H2Stream& s) {
  s.client_ended = true;
  if (!s.run) return;
  if (s.run->request_body({}, true) == ExchangeRun::BodyAction::forward) {
    s.request_body.ended = true;
    wake_upstream_data(s);
  }
}

void H2Engine::pass_request(ExchangeRun& run, const PassedMessage& message) {
  H2Stream* s = streams_.by_client(static_cast<int32_t>(run.stream_id()));
  if (s == nullptr) return;
  s->request_body.append_prepaid(chars(message.held_body));
  consume(Peer::client, s->client_id, std::exchange(s->owed_client, 0));
  RequestHead head = run.request();
  if (message.replaced) {
    s->request_body.trailers.clear();
    s->request_body.ended = true;
    set_content_length(head.headers, message.held_body.size());
  } else {
    s->request_body.ended = message.body_complete || s->client_ended;
  }
  send_request_upstream(*s, head);
  flush();  // when a filter resumed: no session call is under way to do it
}

void H2Engine::send_request_upstream(H2Stream& s, const RequestHead& head) {
  s.phase = H2Phase::upstream;
  if (s.client_closed) return;
  if (upstream_gone_ || !open_upstream()) {
    reset_client(s, NGHTTP2_REFUSED_STREAM);  // the client may retry elsewhere
    return;
  }
  const H2HeaderBlock block = request_block(head);
  nghttp2_data_provider body{};
  body.read_callback = H2UpstreamSide::read_request_body;
  const H2BodyQueue& q = s.request_body;
  const bool has_body = !(q.ended && q.empty() && q.trailers.empty());
  const int32_t id = nghttp2_submit_request(upstream_session_.get(), nullptr, block.data(),
                                            block.size(), has_body ? &body : nullptr, nullptr);
  if (id < 0) {  // no stream ids left on this connection
    reset_client(s, NGHTTP2_REFUSED_STREAM);
    return;
  }
  streams_.pair(s, id);
}

// ----------------------------------------------------------------- response

void H2Engine::response_head_done(H2Stream& s, bool end_stream) {
  s.final_response = true;
  s.upstream_ended = end_stream;
  s.phase = H2Phase::response_filters;
  const std::shared_ptr<ExchangeRun> run = s.run;
  run->start_response(std::move(s.response_head));
  if (end_stream) run->response_body({}, true);
}

void H2Engine::response_data(H2Stream& s, std::span<const uint8_t> bytes) {
  if (s.client_closed || s.local_reply) {
    consume(Peer::upstream, s.upstream_id, bytes.size());
    return;
  }
  switch (s.run->response_body(bytes, false)) {
    case ExchangeRun::BodyAction::forward:
      s.response_body.append(bytes);
      wake_client_data(s);
      return;
    case ExchangeRun::BodyAction::held:
      if (s.run->response_waiting()) {
        owe(Peer::upstream, s, bytes.size());
      } else {
        consume(Peer::upstream, s.upstream_id, bytes.size());
      }
      return;
    case ExchangeRun::BodyAction::drop:
      consume(Peer::upstream, s.upstream_id, bytes.size());
      return;
  }
}

void H2Engine::response_ended(H2Stream& s) {
  s.upstream_ended = true;
  if (s.local_reply) return;
  if (s.run->response_body({}, true) == ExchangeRun::BodyAction::forward) {
    s.response_body.ended = true;
    wake_client_data(s);
  }
}

void H2Engine::pass_response(ExchangeRun& run, const PassedMessage& message) {
  H2Stream* s = streams_.by_client(static_cast<int32_t>(run.stream_id()));
  if (s == nullptr || run.response() == nullptr) return;
  s->response_body.append_prepaid(chars(message.held_body));
  if (s->upstream_id != 0) {
    consume(Peer::upstream, s->upstream_id, std::exchange(s->owed_upstream, 0));
  }
  ResponseHead head = *run.response();
  if (message.replaced) {
    s->response_body.trailers.clear();
    s->response_body.ended = true;
    set_content_length(head.headers, message.held_body.size());
  } else {
    s->response_body.ended = message.body_complete || s->upstream_ended;
  }
  send_response_to_client(*s, head);
  flush();
}

void H2Engine::reply(ExchangeRun& run, const LocalReply& reply) {
  H2Stream* s = streams_.by_client(static_cast<int32_t>(run.stream_id()));
  if (s == nullptr) return;
  // The upstream never sees this request, or no longer: what it sent of a
  // response is dropped, and what the client still sends of its request.
  s->local_reply = true;
  reset_upstream(*s, NGHTTP2_CANCEL);
  if (s->upstream_id != 0) {
    consume(Peer::upstream, s->upstream_id,
            s->response_body.discard() + std::exchange(s->owed_upstream, 0));
  }
  consume(Peer::client, s->client_id, s->request_body.discard() + std::exchange(s->owed_client, 0));
  s->request_body.trailers.clear();
  s->response_body = H2BodyQueue();
  s->response_body.ended = true;
  ResponseHead head{reply.status, reply.headers};
  if (!bodiless(run.request(), reply.status)) {
    set_content_length(head.headers, reply.body.size());
    s->response_body.append_prepaid(reply.body);
  }
  send_response_to_client(*s, head);
  flush();
}

void H2Engine::send_response_to_client(H2Stream& s, const ResponseHead& head) {
  s.phase = H2Phase::responding;
  if (s.client_closed) return;
  const std::string status = std::to_string(head.status);
  const H2HeaderBlock block = response_block(status, head.headers);
  nghttp2_data_provider body{};
  body.read_callback = H2ClientSide::read_response_body;
  const H2BodyQueue& q = s.response_body;
  const bool has_body = !(q.ended && q.empty() && q.trailers.empty());
  if (nghttp2_submit_response(client_session_.get(), s.client_id, block.data(), block.size(),
                              has_body ? &body : nullptr) != 0) {
    reset_client(s, NGHTTP2_INTERNAL_ERROR);
    return;
  }
  s.response_submitted = true;
}

}  // namespace tlsgate::http
