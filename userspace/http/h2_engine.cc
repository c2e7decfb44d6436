#include "http/h2_engine.h"

#include <new>
#include <utility>
#include <vector>

#include "http/h2_sides.h"

namespace tlsgate::http {

namespace {

H2SessionPtr make_session(bool server, const nghttp2_session_callbacks* callbacks, void* engine) {
  H2OptionPtr option = new_h2_option();
  // Windows reopen only when the other side took the bytes (consume()).
  nghttp2_option_set_no_auto_window_update(option.get(), 1);
  // Lean: no closed streams kept for the priority tree (we send no
  // priorities), a small HPACK table for what we send. The table for what we
  // receive stays at the protocol's 4096: advertising less obliges the peer
  // to send a table size update first, and a peer that does not (hand-made
  // and embedded clients) would get COMPRESSION_ERROR on its first request.
  nghttp2_option_set_no_closed_streams(option.get(), 1);
  nghttp2_option_set_max_deflate_dynamic_table_size(option.get(), H2Engine::kHeaderTableSize);
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

std::unique_ptr<ProtocolEngine> make_h2_engine(HttpPort& port, const FilterChain& chain) {
  return std::make_unique<H2Engine>(port, chain);
}

H2Engine::H2Engine(HttpPort& port, const FilterChain& chain) : port_(port), chain_(chain) {
  client_session_ = make_session(true, H2ClientSide::callbacks().get(), this);
  flush();  // our SETTINGS toward the client
}

H2Engine::~H2Engine() = default;

void H2Engine::on_bytes(Peer from, std::span<const uint8_t> bytes) {
  if (broken_) return;
  if (from == Peer::upstream && !upstream_session_) {
    early_upstream_bytes(bytes);
  } else {
    receive(from, bytes);
  }
  flush();
}

bool H2Engine::receive(Peer from, std::span<const uint8_t> bytes) {
  ++depth_;
  const ssize_t rv = nghttp2_session_mem_recv(session(from), bytes.data(), bytes.size());
  --depth_;
  if (rv >= 0) return true;
  // Not h2 at all (bad client magic), a flood, a failed callback: both
  // peers hear GOAWAY if their session still can say it; nothing more is read.
  nghttp2_session_terminate_session(session(from), NGHTTP2_PROTOCOL_ERROR);
  if (nghttp2_session* to = session(other(from)); to != nullptr) {
    nghttp2_session_terminate_session(to, NGHTTP2_NO_ERROR);
  }
  broken_ = true;
  port_.count_unparsed();
  return false;
}

// An idle connection costs no upstream session: what the upstream says
// before the first request (its SETTINGS) waits, and the client is offered
// extended CONNECT as soon as those SETTINGS offer it. More than that (an
// upstream that keeps talking) gets the session at once.
void H2Engine::early_upstream_bytes(std::span<const uint8_t> bytes) {
  early_upstream_.insert(early_upstream_.end(), bytes.begin(), bytes.end());
  if (!connect_protocol_offered_ && settings_offer_connect_protocol(early_upstream_)) {
    const nghttp2_settings_entry offer = {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1};
    if (nghttp2_submit_settings(client_session_.get(), NGHTTP2_FLAG_NONE, &offer, 1) == 0) {
      connect_protocol_offered_ = true;
    }
  }
  if (early_upstream_.size() > kMaxEarlyUpstream) open_upstream();
}

// The client session toward the upstream: its preface and SETTINGS go out,
// then it reads what the upstream already sent.
bool H2Engine::open_upstream() {
  if (upstream_session_) return true;
  if (broken_ || upstream_gone_) return false;
  upstream_session_ = make_session(false, H2UpstreamSide::callbacks().get(), this);
  std::vector<uint8_t> early = std::exchange(early_upstream_, {});
  return early.empty() || receive(Peer::upstream, early);
}

void H2Engine::on_end_of_stream(Peer from) {
  ++depth_;
  if (from == Peer::client) {
    // The client ended its side (close_notify or FIN, a half-close): a
    // stream whose request it finished still gets its response; the others
    // are cancelled upstream. No new stream goes upstream.
    client_gone_ = true;
    for (int32_t id : streams_.client_ids()) {
      H2Stream* s = streams_.by_client(id);
      if (s == nullptr || (s->client_ended && !s->tunnel && !s->client_closed)) continue;
      reset_upstream(*s, NGHTTP2_CANCEL);
      retire(id, ExchangeEnd::incomplete);
    }
    if (!upstream_session_) {
      // No request went upstream yet: nothing to tell it.
    } else if (streams_.size() == 0) {
      nghttp2_session_terminate_session(upstream_session_.get(), NGHTTP2_NO_ERROR);
    } else {
      nghttp2_submit_goaway(upstream_session_.get(), NGHTTP2_FLAG_NONE,
                            nghttp2_session_get_last_proc_stream_id(upstream_session_.get()),
                            NGHTTP2_NO_ERROR, nullptr, 0);
    }
  } else {
    // The upstream left: streams it had not finished are reset toward the
    // client, which is told to open new ones elsewhere.
    upstream_gone_ = true;
    for (int32_t id : streams_.client_ids()) {
      H2Stream* s = streams_.by_client(id);
      if (s == nullptr || s->upstream_id == 0 || s->upstream_closed) continue;
      s->upstream_closed = true;
      s->upstream_error = NGHTTP2_INTERNAL_ERROR;
      if (!s->local_reply && !s->upstream_ended) reset_client(*s, NGHTTP2_INTERNAL_ERROR);
      maybe_retire(*s);
    }
    nghttp2_submit_goaway(client_session_.get(), NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(client_session_.get()),
                          NGHTTP2_NO_ERROR, nullptr, 0);
  }
  --depth_;
  flush();
}

void H2Engine::on_drained(Peer) {
  flush();
}

void H2Engine::on_flow_end() {
  for (int32_t id : streams_.client_ids()) retire(id, ExchangeEnd::incomplete);
}

bool H2Engine::finished() const {
  if (broken_) return true;
  if (client_gone_) {  // once the answers it still awaits went out
    return streams_.size() == 0 && nghttp2_session_want_write(client_session_.get()) == 0;
  }
  if (session_done(client_session_.get())) return true;
  // Without an upstream session (no request yet) the upstream is done with
  // once the client said GOAWAY.
  const bool upstream_over =
      upstream_gone_ ||
      (upstream_session_ ? session_done(upstream_session_.get()) : client_goaway_);
  return upstream_over && streams_.size() == 0 &&
         nghttp2_session_want_write(client_session_.get()) == 0;
}

void H2Engine::consume(Peer from, int32_t stream_id, size_t n) {
  // On a closed stream only the connection's window counts (nghttp2 skips the stream's).
  if (n > 0) nghttp2_session_consume(session(from), stream_id, n);
}

void H2Engine::owe(Peer from, H2Stream& s, size_t n) {
  (from == Peer::client ? s.owed_client : s.owed_upstream) += n;
  owing_.push_back(s.client_id);
}

// A run that held bytes for its filters and no longer waits (a filter
// resumed, or its body steps need more): the sender's window reopens.
void H2Engine::pay_owed() {
  if (owing_.empty()) return;
  std::vector<int32_t> still;
  for (int32_t id : owing_) {
    H2Stream* s = streams_.by_client(id);
    if (s == nullptr || (s->owed_client == 0 && s->owed_upstream == 0)) continue;
    if (s->owed_client > 0 && !s->run->request_waiting()) {
      consume(Peer::client, s->client_id, std::exchange(s->owed_client, 0));
    }
    if (s->owed_upstream > 0 && !s->run->response_waiting()) {
      consume(Peer::upstream, s->upstream_id, std::exchange(s->owed_upstream, 0));
    }
    if (s->owed_client > 0 || s->owed_upstream > 0) still.push_back(id);
  }
  owing_ = std::move(still);
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
  const ResponseHead* response = s.run ? s.run->response() : nullptr;
  if (s.tunnel && response != nullptr && response->status / 100 == 2 && !s.local_reply) {
    end = ExchangeEnd::upgrade;
  } else if (s.client_error != NGHTTP2_NO_ERROR ||
             (s.upstream_error != NGHTTP2_NO_ERROR && !s.upstream_ended && !s.local_reply)) {
    end = ExchangeEnd::reset;
  }
  retire(s.client_id, end);
}

void H2Engine::retire(int32_t client_id, ExchangeEnd end) {
  std::unique_ptr<H2Stream> s = streams_.remove(client_id);
  // The run tells the filters and writes the `http` event; a stream whose
  // request head never completed had none.
  if (s && s->run) s->run->end(end);
}

void H2Engine::flush() {
  if (depth_ > 0) return;
  ++depth_;  // data sources and frame callbacks may submit to either session
  pay_owed();
  // nghttp2 hands out one frame at a time: the frames are gathered into one
  // write of up to a TLS record's worth (16 KiB), not a record per frame
  // (100 small responses are 200 frames). The gathering buffer is the
  // thread's, lent out for the call, so an idle engine holds none.
  auto pump = [this](Peer to) {
    bool sent = false;
    if (session(to) == nullptr) return sent;
    static thread_local std::vector<uint8_t> spare;
    std::vector<uint8_t> batch = std::move(spare);
    batch.clear();
    auto send_batch = [&] {
      if (batch.empty()) return;
      port_.send(to, batch);
      batch.clear();
      sent = true;
    };
    while (port_.pending(to) + batch.size() < kMaxPending) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session(to), &data);
      if (n <= 0) {
        if (n < 0) broken_ = true;  // only out of memory or a failed callback
        break;
      }
      batch.insert(batch.end(), data, data + n);
      if (batch.size() >= kRecordBatch) send_batch();
    }
    send_batch();
    spare = std::move(batch);
    return sent;
  };
  while (true) {
    const bool to_client = pump(Peer::client);
    const bool to_upstream = pump(Peer::upstream);
    if (!to_client && !to_upstream) break;
  }
  --depth_;
  if (!closing_ && finished()) {
    closing_ = true;
    port_.close_after_flush(broken_ ? "h2_protocol_error" : "h2_closed");
  }
}

}  // namespace tlsgate::http
