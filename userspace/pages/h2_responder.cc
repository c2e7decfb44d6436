#include "pages/h2_responder.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace tlsgate::pages {
namespace {

constexpr uint32_t kMaxConcurrentStreams = 32;

std::string_view view(const uint8_t* data, size_t len) {
  return {reinterpret_cast<const char*>(data), len};
}

nghttp2_nv header(const std::string& name, const std::string& value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

struct CallbacksDeleter {
  void operator()(nghttp2_session_callbacks* c) const { nghttp2_session_callbacks_del(c); }
};

}  // namespace

H2Responder::H2Responder(PageHandler handler) : handler_(std::move(handler)) {
  nghttp2_session_callbacks* raw = nullptr;
  if (nghttp2_session_callbacks_new(&raw) != 0) throw std::runtime_error("nghttp2: no memory");
  std::unique_ptr<nghttp2_session_callbacks, CallbacksDeleter> callbacks(raw);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks.get(), on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks.get(), on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks.get(), on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks.get(), on_stream_close);
  nghttp2_session* session = nullptr;
  if (nghttp2_session_server_new(&session, callbacks.get(), this) != 0) {
    throw std::runtime_error("nghttp2: cannot create a server session");
  }
  session_.reset(session);
  const std::array<nghttp2_settings_entry, 2> settings{{
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(kMaxRequestHead)},
  }};
  if (nghttp2_submit_settings(session_.get(), NGHTTP2_FLAG_NONE, settings.data(),
                              settings.size()) != 0) {
    throw std::runtime_error("nghttp2: cannot submit SETTINGS");
  }
}

H2Responder::~H2Responder() = default;

int H2Responder::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  auto* r = static_cast<H2Responder*>(self);
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    r->streams_[frame->hd.stream_id] = Stream{};
  }
  return 0;
}

int H2Responder::on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                           size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                           void* self) {
  auto* r = static_cast<H2Responder*>(self);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto it = r->streams_.find(frame->hd.stream_id);
  if (it == r->streams_.end()) return 0;
  Stream& s = it->second;
  s.header_bytes += namelen + valuelen + 32;
  if (s.header_bytes > kMaxRequestHead) s.oversized = true;
  if (s.oversized) return 0;  // answered with 431; the rest is not kept
  const std::string_view n = view(name, namelen);
  const std::string_view v = view(value, valuelen);
  if (n == ":method") {
    s.request.method = v;
  } else if (n == ":path") {
    s.request.path = v;
  } else if (n == ":authority") {
    s.request.authority = v;
  } else if (n == "host" && s.request.authority.empty()) {
    s.request.authority = v;
  }
  return 0;
}

int H2Responder::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  auto* r = static_cast<H2Responder*>(self);
  // The whole header block (with CONTINUATIONs) is in: answer now, without
  // waiting for a request body we would not read anyway.
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    auto it = r->streams_.find(frame->hd.stream_id);
    if (it != r->streams_.end() && !it->second.answered) r->answer(it->first, it->second);
  }
  return 0;
}

int H2Responder::on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t, void* self) {
  static_cast<H2Responder*>(self)->streams_.erase(stream_id);
  return 0;
}

ssize_t H2Responder::read_body(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                               uint32_t* data_flags, nghttp2_data_source*, void* self) {
  auto* r = static_cast<H2Responder*>(self);
  auto it = r->streams_.find(stream_id);
  if (it == r->streams_.end()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  Stream& s = it->second;
  const size_t n = std::min(length, s.body.size() - s.sent);
  std::memcpy(buf, s.body.data() + s.sent, n);
  s.sent += n;
  if (s.sent == s.body.size()) {
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    s.body_done = true;
  }
  return static_cast<ssize_t>(n);
}

void H2Responder::answer(int32_t stream_id, Stream& stream) {
  stream.answered = true;
  answered_any_ = true;
  PageResponse response;
  if (stream.oversized) {
    response = plain_status_response(431);
  } else {
    try {
      response = handler_(stream.request);
    } catch (const std::exception&) {
      response = plain_status_response(500);
    }
  }
  const bool head_only = stream.request.method == "HEAD";
  stream.body = head_only ? std::string() : std::move(response.body);
  const std::string status = std::to_string(response.status);
  const std::string length = std::to_string(head_only ? response.body.size() : stream.body.size());
  const std::string status_name = ":status";
  const std::string length_name = "content-length";
  std::vector<nghttp2_nv> nva;
  nva.push_back(header(status_name, status));
  for (const auto& [name, value] : response.headers) nva.push_back(header(name, value));
  nva.push_back(header(length_name, length));
  nghttp2_data_provider provider{};
  provider.read_callback = read_body;
  const bool has_body = !stream.body.empty();
  stream.body_done = !has_body;
  // nghttp2 copies the header block at submission.
  if (nghttp2_submit_response(session_.get(), stream_id, nva.data(), nva.size(),
                              has_body ? &provider : nullptr) != 0) {
    nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_INTERNAL_ERROR);
  }
}

void H2Responder::drain_output(std::vector<uint8_t>& out) {
  while (true) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
    if (n <= 0) {
      if (n < 0) failed_ = true;
      return;
    }
    out.insert(out.end(), data, data + n);
  }
}

std::vector<uint8_t> H2Responder::feed(std::span<const uint8_t> plaintext) {
  std::vector<uint8_t> out;
  if (finished()) return out;
  if (!failed_ && !plaintext.empty()) {
    ssize_t n = nghttp2_session_mem_recv(session_.get(), plaintext.data(), plaintext.size());
    if (n < 0) {
      // Bad preface or a connection error: nghttp2 queued GOAWAY when it
      // could; either way the session is over.
      failed_ = true;
      nghttp2_session_terminate_session(session_.get(), NGHTTP2_PROTOCOL_ERROR);
    }
  }
  const bool all_answered = std::all_of(streams_.begin(), streams_.end(),
                                        [](const auto& s) { return s.second.answered; });
  if (!failed_ && answered_any_ && all_answered && !goaway_submitted_) {
    // Every request so far has its page: later streams are refused.
    nghttp2_submit_goaway(session_.get(), NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_.get()), NGHTTP2_NO_ERROR,
                          nullptr, 0);
    goaway_submitted_ = true;
  }
  drain_output(out);
  return out;
}

bool H2Responder::finished() const {
  if (!failed_ && !goaway_submitted_) return false;
  if (nghttp2_session_want_write(session_.get()) != 0) return false;
  if (failed_) return true;
  // A body held back by the client's flow-control window is still due.
  return std::all_of(streams_.begin(), streams_.end(),
                     [](const auto& s) { return s.second.body_done; });
}

}  // namespace tlsgate::pages
