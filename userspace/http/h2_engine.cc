#include "http/h2_engine.h"

#include <new>
#include <utility>

#include "http/h2_sides.h"

namespace tlsgate::http {

namespace {

H2SessionPtr make_session(bool server, const nghttp2_session_callbacks* callbacks, void* engine) {
  H2OptionPtr option = new_h2_option();
  // Windows reopen only when the other side took the bytes (consume()).
  nghttp2_option_set_no_auto_window_update(option.get(), 1);
  nghttp2_session* raw = nullptr;
  const int rv = server ? nghttp2_session_server_new2(&raw, callbacks, engine, option.get())
                        : nghttp2_session_client_new2(&raw, callbacks, engine, option.get());
  if (rv != 0) throw std::bad_alloc();
  H2SessionPtr session(raw);
  std::vector<nghttp2_settings_entry> settings = {
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2Engine::kStreamWindow}};
  if (server) {
    settings.push_back({NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2Engine::kMaxConcurrentStreams});
  } else {
    settings.push_back({NGHTTP2_SETTINGS_ENABLE_PUSH, 0});
  }
  if (nghttp2_submit_settings(session.get(), NGHTTP2_FLAG_NONE, settings.data(), settings.size()) !=
          0 ||
      nghttp2_session_set_local_window_size(session.get(), NGHTTP2_FLAG_NONE, 0,
                                            H2Engine::kConnectionWindow) != 0) {
    throw std::bad_alloc();
  }
  return session;
}

bool session_done(nghttp2_session* s) {
  return nghttp2_session_want_read(s) == 0 && nghttp2_session_want_write(s) == 0;
}

}  // namespace

H2Engine::H2Engine(H2Port& port, const FlowContext& flow,
                   std::vector<std::unique_ptr<HttpFilter>> filters)
    : port_(port), flow_(flow), filters_(std::move(filters)) {
  client_session_ = make_session(true, H2ClientSide::callbacks().get(), this);
  upstream_session_ = make_session(false, H2UpstreamSide::callbacks().get(), this);
  flush();  // our SETTINGS (and the client preface toward the upstream)
}

H2Engine::~H2Engine() = default;

bool H2Engine::on_client_bytes(std::span<const uint8_t> bytes) {
  return feed(client_session_.get(), bytes);
}

bool H2Engine::on_upstream_bytes(std::span<const uint8_t> bytes) {
  return feed(upstream_session_.get(), bytes);
}

bool H2Engine::feed(nghttp2_session* session, std::span<const uint8_t> bytes) {
  if (broken_) return false;
  ++depth_;
  const ssize_t rv = nghttp2_session_mem_recv(session, bytes.data(), bytes.size());
  --depth_;
  if (rv < 0) {
    // Bad client magic, a flood, a failed callback: the session queued its
    // GOAWAY if it could; nothing more is read.
    nghttp2_session_terminate_session(session, NGHTTP2_PROTOCOL_ERROR);
  }
  flush();
  if (rv < 0) broken_ = true;
  return rv >= 0;
}

void H2Engine::on_client_end() {
  // The client left: every stream of it is cancelled upstream.
  ++depth_;
  streams_.for_each([this](H2Stream& s) { reset_upstream(s, NGHTTP2_CANCEL); });
  nghttp2_session_terminate_session(upstream_session_.get(), NGHTTP2_NO_ERROR);
  client_gone_ = true;
  --depth_;
  flush();
}

void H2Engine::on_upstream_end() {
  // The upstream left without (or after) its GOAWAY: streams it had not
  // finished are reset toward the client; the client is told to go
  // elsewhere for new ones.
  ++depth_;
  upstream_gone_ = true;
  for (int32_t id : streams_.client_ids()) {
    H2Stream* s = streams_.by_client(id);
    if (s == nullptr || s->upstream_id == 0 || s->upstream_closed) continue;
    s->upstream_closed = true;
    s->upstream_error = NGHTTP2_INTERNAL_ERROR;
    if (!s->local_reply && !s->response_body.ended) reset_client(*s, NGHTTP2_INTERNAL_ERROR);
    maybe_retire(*s);
  }
  nghttp2_submit_goaway(client_session_.get(), NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(client_session_.get()),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  --depth_;
  flush();
}

void H2Engine::output_drained() {
  flush();
}

bool H2Engine::finished() const {
  if (broken_ || client_gone_) return true;
  nghttp2_session* client = client_session_.get();
  nghttp2_session* upstream = upstream_session_.get();
  if (session_done(client)) return true;
  const bool upstream_over = upstream_gone_ || session_done(upstream);
  return upstream_over && streams_.size() == 0 && nghttp2_session_want_write(client) == 0;
}

void H2Engine::finish() {
  for (int32_t id : streams_.client_ids()) retire(id, ExchangeEnd::incomplete);
}

void H2Engine::resume(int32_t client_id, FilterStep step) {
  H2Stream* s = streams_.by_client(client_id);
  if (s == nullptr) return;
  s->held.reset();
  const H2Phase phase = s->phase;
  if (phase != H2Phase::request_filters && phase != H2Phase::response_filters) return;
  ++depth_;
  if (step_result(*s, step)) {
    ++s->next_filter;
    if (phase == H2Phase::request_filters) {
      run_request_filters(*s);
    } else {
      run_response_filters(*s);
    }
  }
  --depth_;
  flush();
}

void H2Engine::wake_client_data(H2Stream& s) {
  if (!s.response_deferred || s.client_closed) return;
  s.response_deferred = false;
  nghttp2_session_resume_data(client_session_.get(), s.client_id);
}

void H2Engine::wake_upstream_data(H2Stream& s) {
  if (!s.request_deferred || s.upstream_id == 0 || s.upstream_closed) return;
  s.request_deferred = false;
  nghttp2_session_resume_data(upstream_session_.get(), s.upstream_id);
}

void H2Engine::reset_client(H2Stream& s, uint32_t code) {
  if (s.client_closed) return;
  nghttp2_submit_rst_stream(client_session_.get(), NGHTTP2_FLAG_NONE, s.client_id, code);
}

void H2Engine::reset_upstream(H2Stream& s, uint32_t code) {
  if (s.upstream_id == 0 || s.upstream_closed) return;
  nghttp2_submit_rst_stream(upstream_session_.get(), NGHTTP2_FLAG_NONE, s.upstream_id, code);
}

void H2Engine::maybe_retire(H2Stream& s) {
  if (!s.client_closed || (s.upstream_id != 0 && !s.upstream_closed)) return;
  ExchangeEnd end = ExchangeEnd::complete;
  if (s.tunnel && s.final_response && s.response_head.status / 100 == 2) {
    end = ExchangeEnd::upgrade;
  } else if (s.client_error != NGHTTP2_NO_ERROR ||
             (s.upstream_error != NGHTTP2_NO_ERROR && !s.response_body.ended)) {
    end = ExchangeEnd::reset;
  }
  retire(s.client_id, end);
}

void H2Engine::retire(int32_t client_id, ExchangeEnd end) {
  std::unique_ptr<H2Stream> s = streams_.remove(client_id);
  if (!s) return;
  s->held.reset();  // a held step's resumer does nothing from now on
  for (auto& f : filters_) f->on_exchange_end(*s);
  Exchange x;
  x.method = s->request_head.method;
  capture(x.host, s->request_head.authority, kMaxHost);
  x.path_truncated = capture(x.path, s->request_head.path, kMaxPath);
  if (s->final_response) x.status = s->response_head.status;
  x.request_bytes = s->request_bytes;
  x.response_bytes = s->response_bytes;
  x.stream_id = static_cast<uint32_t>(client_id);
  x.end = end;
  if (s->local_reply) {
    port_.exchange_done(x, s->local_reply->outcome, s->local_reply->detail);
  } else {
    port_.exchange_done(x, "", "");
  }
}

void H2Engine::flush() {
  if (depth_ > 0 || broken_) return;
  ++depth_;  // data sources and frame callbacks may submit to either session
  auto pump = [this](nghttp2_session* session, bool to_client) {
    bool sent = false;
    while ((to_client ? port_.client_backlog() : port_.upstream_backlog()) < kMaxBacklog) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session, &data);
      if (n < 0) {
        broken_ = true;
        return false;
      }
      if (n == 0) break;
      const std::span<const uint8_t> bytes(data, static_cast<size_t>(n));
      to_client ? port_.send_to_client(bytes) : port_.send_to_upstream(bytes);
      sent = true;
    }
    return sent;
  };
  while (!broken_) {
    const bool to_client = pump(client_session_.get(), true);
    const bool to_upstream = !broken_ && pump(upstream_session_.get(), false);
    if (!to_client && !to_upstream) break;
  }
  --depth_;
}

}  // namespace tlsgate::http
