#include "h2_engine_rig.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace tlsgate::http::testing {

namespace {

void check(int rv, const char* what) {
  if (rv < 0) throw std::runtime_error(std::string(what) + ": " + nghttp2_strerror(rv));
}

std::string_view view(const uint8_t* p, size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

}  // namespace

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 31 + 7) % 251);
  return s;
}

H2Rig::H2Rig(FilterChain filters, Options options) : chain_(std::move(filters)) {
  port.flow_context.sni = "a.test";
  port.flow_context.protocol = "h2";
  H2CallbacksPtr cb = new_h2_callbacks();
  nghttp2_session_callbacks_set_on_header_callback(cb.get(), on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb.get(), on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb.get(), on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb.get(), on_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb.get(), on_frame_send);
  nghttp2_session* raw = nullptr;
  check(nghttp2_session_client_new(&raw, cb.get(), this), "client");
  client_.reset(raw);
  check(nghttp2_session_server_new(&raw, cb.get(), this), "server");
  server_.reset(raw);
  check(nghttp2_submit_settings(client_.get(), NGHTTP2_FLAG_NONE, nullptr, 0), "settings");
  std::vector<nghttp2_settings_entry> server_settings = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000}};
  if (options.server_enables_connect_protocol) {
    server_settings.push_back({NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1});
  }
  check(nghttp2_submit_settings(server_.get(), NGHTTP2_FLAG_NONE, server_settings.data(),
                                server_settings.size()),
        "settings");
  engine_ = std::make_unique<H2Engine>(port, chain_);
  run();
}

H2Rig::~H2Rig() = default;

int32_t H2Rig::request(const RigRequest& r) {
  H2HeaderBlock block;
  block.add(":method", r.method);
  if (r.method != "CONNECT" || !r.protocol.empty()) {
    block.add(":scheme", "https");
    block.add(":path", r.path);
  }
  block.add(":authority", r.authority);
  if (!r.protocol.empty()) block.add(":protocol", r.protocol);
  block.add_all(r.headers);
  const bool has_body = !r.body.empty() || !r.trailers.empty() || !r.ends;
  nghttp2_data_provider body = provider();
  const int32_t id = nghttp2_submit_request(client_.get(), nullptr, block.data(), block.size(),
                                            has_body ? &body : nullptr, nullptr);
  check(id, "submit_request");
  if (has_body) client_out_[id] = Outgoing{r.body, 0, r.trailers, r.ends, false};
  client_seen_[id];
  return id;
}

void H2Rig::run() {
  for (int round = 0; round < 1000000; ++round) {
    bool moved = pump(client_.get(), true);
    moved = pump(server_.get(), false) || moved;
    if (!port.sent(Peer::upstream).empty()) {
      const std::string bytes = port.take(Peer::upstream);
      check(static_cast<int>(std::min<ssize_t>(
                nghttp2_session_mem_recv(
                    server_.get(), reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
                0)),
            "server recv");
      engine_->on_drained(Peer::upstream);
      moved = true;
    }
    if (client_reading && !port.sent(Peer::client).empty()) {
      const std::string bytes = port.take(Peer::client);
      check(static_cast<int>(std::min<ssize_t>(
                nghttp2_session_mem_recv(
                    client_.get(), reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
                0)),
            "client recv");
      engine_->on_drained(Peer::client);
      moved = true;
    }
    if (!moved) return;
  }
  ADD_FAILURE() << "the rig never went quiet";
}

bool H2Rig::pump(nghttp2_session* from, bool client_side) {
  std::string out;
  while (true) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(from, &data);
    check(static_cast<int>(std::min<ssize_t>(n, 0)), "mem_send");
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  if (out.empty()) return false;
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(out.data()), out.size());
  engine_->on_bytes(client_side ? Peer::client : Peer::upstream, bytes);
  return true;
}

SeenMessage* H2Rig::server(const std::string& path) {
  const int32_t id = server_stream(path);
  return id == 0 ? nullptr : &server_seen_[id];
}

int32_t H2Rig::server_stream(const std::string& path) {
  int32_t found = 0;
  for (const auto& [id, m] : server_seen_) {
    if (m.path == path) found = id;
  }
  return found;
}

void H2Rig::respond(const std::string& path, const RigPlan& p) {
  answer(server_stream(path), p);
}

void H2Rig::client_send_more(int32_t id, const std::string& bytes, bool end) {
  Outgoing& o = client_out_[id];
  o.bytes += bytes;
  o.ends = end;
  if (o.deferred) {
    o.deferred = false;
    check(nghttp2_session_resume_data(client_.get(), id), "resume");
  }
}

void H2Rig::client_reset(int32_t id, uint32_t code) {
  check(nghttp2_submit_rst_stream(client_.get(), NGHTTP2_FLAG_NONE, id, code), "rst");
}

void H2Rig::server_reset(const std::string& path, uint32_t code) {
  check(nghttp2_submit_rst_stream(server_.get(), NGHTTP2_FLAG_NONE, server_stream(path), code),
        "rst");
}

void H2Rig::client_goaway() {
  check(nghttp2_submit_goaway(client_.get(), NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0),
        "goaway");
}

void H2Rig::server_goaway() {
  check(nghttp2_submit_goaway(server_.get(), NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(server_.get()),
                              NGHTTP2_NO_ERROR, nullptr, 0),
        "goaway");
}

SeenMessage& H2Rig::seen(nghttp2_session* s, int32_t id) {
  return s == client_.get() ? client_seen_[id] : server_seen_[id];
}

Outgoing& H2Rig::outgoing(nghttp2_session* s, int32_t id) {
  return s == client_.get() ? client_out_[id] : server_out_[id];
}

nghttp2_data_provider H2Rig::provider() {
  nghttp2_data_provider p{};
  p.read_callback = read_outgoing;
  return p;
}

void H2Rig::answer(int32_t stream, const RigPlan& p) {
  for (int status : p.interim) {
    const std::string text = std::to_string(status);
    H2HeaderBlock block = response_block(text, {});
    check(nghttp2_submit_headers(server_.get(), NGHTTP2_FLAG_NONE, stream, nullptr, block.data(),
                                 block.size(), nullptr),
          "interim");
  }
  if (p.reset) {
    check(nghttp2_submit_rst_stream(server_.get(), NGHTTP2_FLAG_NONE, stream, *p.reset), "rst");
    return;
  }
  const std::string text = std::to_string(p.status);
  H2HeaderBlock block = response_block(text, p.headers);
  const bool has_body = !p.body.empty() || !p.trailers.empty() || p.echo;
  if (has_body) server_out_[stream] = Outgoing{p.body, 0, p.trailers, !p.echo, false};
  nghttp2_data_provider body = provider();
  check(nghttp2_submit_response(server_.get(), stream, block.data(), block.size(),
                                has_body ? &body : nullptr),
        "submit_response");
}

int H2Rig::on_header(nghttp2_session* s, const nghttp2_frame* frame, const uint8_t* name,
                     size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* self) {
  auto* rig = static_cast<H2Rig*>(self);
  SeenMessage& m = rig->seen(s, frame->hd.stream_id);
  const std::string n(view(name, namelen));
  const std::string v(view(value, valuelen));
  if (m.head_done) {
    m.trailers.push_back({n, v});
  } else if (n == ":method") {
    m.method = v;
  } else if (n == ":authority") {
    m.authority = v;
  } else if (n == ":scheme") {
    // always https here
  } else if (n == ":path") {
    m.path = v;
  } else if (n == ":protocol") {
    m.protocol = v;
  } else if (n == ":status") {
    int status = 0;
    std::from_chars(v.data(), v.data() + v.size(), status);
    if (status < 200) {
      m.interim.push_back(status);
    } else {
      m.status = status;
    }
  } else {
    m.headers.push_back({n, v});
  }
  return 0;
}

int H2Rig::on_frame_recv(nghttp2_session* s, const nghttp2_frame* frame, void* self) {
  auto* rig = static_cast<H2Rig*>(self);
  if (frame->hd.type == NGHTTP2_PING) {
    const bool ack = (frame->hd.flags & NGHTTP2_FLAG_ACK) != 0;
    if (s == rig->client_.get() && ack) ++rig->client_ping_acks;
    if (s == rig->server_.get() && !ack) ++rig->server_pings;
    if (s == rig->server_.get() && ack) ++rig->server_ping_acks;
    return 0;
  }
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    (s == rig->client_.get() ? rig->client_goaway_seen : rig->server_goaway_seen) = true;
    return 0;
  }
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
  SeenMessage& m = rig->seen(s, frame->hd.stream_id);
  const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (end) m.ended = true;
  if (frame->hd.type == NGHTTP2_HEADERS && (s == rig->server_.get() || m.status >= 200)) {
    m.head_done = true;
  }
  if (s != rig->server_.get()) return 0;
  const bool request_head =
      frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST;
  auto it = rig->plans_.find(m.path);
  const RigPlan plan = it == rig->plans_.end() ? RigPlan{} : it->second;
  if (plan.manual) return 0;
  auto echo = rig->server_out_.find(frame->hd.stream_id);
  if (plan.echo && end && echo != rig->server_out_.end()) {  // the tunnel's client side ended
    echo->second.ends = true;
    if (echo->second.deferred) {
      echo->second.deferred = false;
      nghttp2_session_resume_data(s, frame->hd.stream_id);
    }
    return 0;
  }
  if ((plan.at_headers && request_head) || (!plan.at_headers && end)) {
    rig->answer(frame->hd.stream_id, plan);
  }
  return 0;
}

int H2Rig::on_data(nghttp2_session* s, uint8_t, int32_t id, const uint8_t* data, size_t len,
                   void* self) {
  auto* rig = static_cast<H2Rig*>(self);
  rig->seen(s, id).body.append(view(data, len));
  if (s == rig->server_.get()) {
    auto it = rig->server_out_.find(id);
    auto plan = rig->plans_.find(rig->server_seen_[id].path);
    if (it != rig->server_out_.end() && plan != rig->plans_.end() && plan->second.echo) {
      it->second.bytes.append(view(data, len));
      if (it->second.deferred) {
        it->second.deferred = false;
        nghttp2_session_resume_data(s, id);
      }
    }
  }
  return 0;
}

int H2Rig::on_close(nghttp2_session* s, int32_t id, uint32_t code, void* self) {
  SeenMessage& m = static_cast<H2Rig*>(self)->seen(s, id);
  m.closed = true;
  m.close_code = code;
  return 0;
}

int H2Rig::on_frame_send(nghttp2_session* s, const nghttp2_frame* frame, void* self) {
  auto* rig = static_cast<H2Rig*>(self);
  if (s == rig->server_.get() && frame->hd.type == NGHTTP2_DATA) {
    rig->server_body_sent += frame->hd.length;
  }
  return 0;
}

ssize_t H2Rig::read_outgoing(nghttp2_session* s, int32_t id, uint8_t* buf, size_t length,
                             uint32_t* flags, nghttp2_data_source*, void* self) {
  Outgoing& o = static_cast<H2Rig*>(self)->outgoing(s, id);
  const size_t n = std::min(length, o.bytes.size() - o.offset);
  std::memcpy(buf, o.bytes.data() + o.offset, n);
  o.offset += n;
  if (o.offset == o.bytes.size()) {
    if (o.ends) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!o.trailers.empty()) {
        H2HeaderBlock block;
        block.add_all(o.trailers);
        check(nghttp2_submit_trailer(s, id, block.data(), block.size()), "trailer");
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
    } else if (n == 0) {
      o.deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return static_cast<ssize_t>(n);
}

}  // namespace tlsgate::http::testing
