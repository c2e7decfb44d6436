// What happens to an h2 request: its head goes through the flow's filters,
// then upstream (or the filter's reply goes to the client); its response
// head goes through the filters, then to the client.
#include <string>
#include <utility>

#include "http/h2_engine.h"
#include "http/h2_sides.h"

namespace tlsgate::http {

namespace {

// Responses to HEAD, and 204 / 304, carry no body (RFC 9110 §6.4.1).
bool bodiless(const RequestHead& request, int status) {
  return request.method == "HEAD" || status == 204 || status == 304;
}

}  // namespace

void H2Engine::run_request_filters(H2Stream& s) {
  s.phase = H2Phase::request_filters;
  while (s.next_filter < filters_.size()) {
    FilterStep step = filters_[s.next_filter]->on_request_head(s);
    if (!step_result(s, step)) return;
    ++s.next_filter;
  }
  s.next_filter = 0;
  send_request_upstream(s);
}

void H2Engine::run_response_filters(H2Stream& s) {
  s.phase = H2Phase::response_filters;
  while (s.next_filter < filters_.size()) {
    FilterStep step = filters_[s.next_filter]->on_response_head(s);
    if (!step_result(s, step)) return;
    ++s.next_filter;
  }
  s.next_filter = 0;
  send_response_to_client(s);
}

// true: ask the next filter.
bool H2Engine::step_result(H2Stream& s, FilterStep& step) {
  switch (step.kind()) {
    case FilterStep::Kind::proceed:
    case FilterStep::Kind::need_body:  // h2 bodies stream through; no body step yet
      return true;
    case FilterStep::Kind::reply:
      s.held.reset();
      reply_locally(s, std::move(step.reply()));
      return false;
    case FilterStep::Kind::hold:
      return false;  // the stream waits; others go on
  }
  return false;
}

void H2Engine::send_request_upstream(H2Stream& s) {
  if (s.client_closed) return;
  if (upstream_gone_) {
    reset_client(s, NGHTTP2_REFUSED_STREAM);  // the client may retry elsewhere
    return;
  }
  const H2HeaderBlock block = request_block(s.request_head);
  nghttp2_data_provider body{};
  body.read_callback = H2UpstreamSide::read_request_body;
  const bool has_body = !(s.request_body.ended && s.request_body.empty());
  const int32_t id = nghttp2_submit_request(upstream_session_.get(), nullptr, block.data(),
                                            block.size(), has_body ? &body : nullptr, nullptr);
  if (id < 0) {  // no stream ids left on this connection
    reset_client(s, NGHTTP2_REFUSED_STREAM);
    return;
  }
  streams_.pair(s, id);
  s.phase = H2Phase::upstream;
}

void H2Engine::send_response_to_client(H2Stream& s) {
  s.phase = H2Phase::responding;
  if (s.client_closed) return;
  const std::string status = std::to_string(s.response_head.status);
  const H2HeaderBlock block = response_block(status, s.response_head.headers);
  nghttp2_data_provider body{};
  body.read_callback = H2ClientSide::read_response_body;
  const bool has_body = !(s.response_body.ended && s.response_body.empty());
  if (nghttp2_submit_response(client_session_.get(), s.client_id, block.data(), block.size(),
                              has_body ? &body : nullptr) != 0) {
    reset_client(s, NGHTTP2_INTERNAL_ERROR);
    return;
  }
  s.response_submitted = true;
}

void H2Engine::reply_locally(H2Stream& s, LocalReply reply) {
  // The upstream never sees this request, or no longer: what it sent of a
  // response is dropped, and what the client still sends of its request.
  reset_upstream(s, NGHTTP2_CANCEL);
  if (s.upstream_id != 0) {
    nghttp2_session_consume(upstream_session_.get(), s.upstream_id, s.response_body.discard());
  }
  nghttp2_session_consume(client_session_.get(), s.client_id, s.request_body.discard());
  s.response_body = H2BodyQueue();
  s.response_body.ended = true;
  s.response_head = ResponseHead{reply.status, reply.headers};
  s.final_response = true;
  if (bodiless(s.request_head, reply.status)) {
    reply.body.clear();
  } else {
    s.response_head.headers.push_back({"content-length", std::to_string(reply.body.size())});
  }
  s.response_body.append(reply.body);
  s.response_bytes = reply.body.size();
  s.local_reply = std::move(reply);
  send_response_to_client(s);
}

void H2Engine::replace_request(int32_t client_id, RequestHead head, std::string body) {
  // A body step's answer; the h2 engine holds no bodies for filters yet, so
  // only a head step can be held here: go on with the new head.
  H2Stream* s = streams_.by_client(client_id);
  if (s == nullptr || s->phase != H2Phase::request_filters) return;
  (void)body;
  s->request_head = std::move(head);
  resume(client_id, FilterStep::proceed());
}

void H2Engine::replace_response(int32_t client_id, ResponseHead head, std::string body) {
  H2Stream* s = streams_.by_client(client_id);
  if (s == nullptr || s->phase != H2Phase::response_filters) return;
  (void)body;
  s->response_head = std::move(head);
  resume(client_id, FilterStep::proceed());
}

}  // namespace tlsgate::http
