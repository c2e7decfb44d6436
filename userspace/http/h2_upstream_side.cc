// The h2 engine's client session toward the upstream: requests go out on
// streams paired with the client's; responses, 1xx, trailers, resets,
// SETTINGS and GOAWAY come back and are passed on to the client.
#include <charconv>
#include <exception>
#include <string_view>
#include <utility>

#include "http/h2_engine.h"
#include "http/h2_sides.h"

namespace tlsgate::http {

namespace {

H2Engine& engine_of(void* p) {
  return *static_cast<H2Engine*>(p);
}

std::string_view view(const uint8_t* p, size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

}  // namespace

struct H2UpstreamCallbacks {
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* p) {
    return guarded([&]() -> int {
      H2Stream* s = engine_of(p).streams_.by_upstream(frame->hd.stream_id);
      if (s != nullptr && !s->final_response) s->response_head = ResponseHead{};  // 1xx or final
      return 0;
    });
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* p) {
    return guarded([&]() -> int {
      H2Stream* s = engine_of(p).streams_.by_upstream(frame->hd.stream_id);
      if (s == nullptr || s->local_reply) return 0;
      const std::string_view n = view(name, namelen);
      const std::string_view v = view(value, valuelen);
      if (s->final_response) {
        s->response_body.trailers.push_back({std::string(n), std::string(v)});
      } else if (n == ":status") {
        std::from_chars(v.data(), v.data() + v.size(), s->response_head.status);
      } else {
        s->response_head.headers.push_back({std::string(n), std::string(v)});
      }
      return 0;
    });
  }

  static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* p) {
    return guarded([&]() -> int {
      H2Engine& e = engine_of(p);
      const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
      switch (frame->hd.type) {
        case NGHTTP2_HEADERS: {
          H2Stream* s = e.streams_.by_upstream(frame->hd.stream_id);
          if (s == nullptr || s->local_reply) return 0;
          if (s->final_response) {  // trailers
            e.response_ended(*s);
          } else if (s->response_head.status < 200) {
            interim(e, *s);
          } else {
            e.response_head_done(*s, end_stream);
          }
          return 0;
        }
        case NGHTTP2_DATA: {
          H2Stream* s = e.streams_.by_upstream(frame->hd.stream_id);
          if (s != nullptr && end_stream) e.response_ended(*s);
          return 0;
        }
        case NGHTTP2_SETTINGS:
          if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) mirror_settings(e, session);
          return 0;
        case NGHTTP2_GOAWAY:
          // Graceful toward the client whatever the upstream's reason: its
          // streams the upstream did not take are reset REFUSED_STREAM (on
          // their close), which tells the client to retry them elsewhere.
          nghttp2_submit_goaway(e.client_session_.get(), NGHTTP2_FLAG_NONE,
                                nghttp2_session_get_last_proc_stream_id(e.client_session_.get()),
                                NGHTTP2_NO_ERROR, nullptr, 0);
          return 0;
        default:
          return 0;
      }
    });
  }

  static int on_data_chunk_recv(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                                size_t len, void* p) {
    return guarded([&]() -> int {
      H2Engine& e = engine_of(p);
      H2Stream* s = e.streams_.by_upstream(stream_id);
      if (s == nullptr) {
        e.consume(Peer::upstream, stream_id, len);  // nobody will take it
        return 0;
      }
      e.response_data(*s, std::span<const uint8_t>(data, len));
      return 0;
    });
  }

  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* p) {
    return guarded([&]() -> int {
      H2Engine& e = engine_of(p);
      H2Stream* s = e.streams_.by_upstream(stream_id);
      if (s == nullptr) return 0;
      s->upstream_closed = true;
      s->upstream_error = error_code;
      if (!s->local_reply) {
        if (!s->upstream_ended) {
          e.reset_client(*s, error_code);  // a reset (or a refusal) passed on as it came
        } else if (!s->client_ended && !s->tunnel && s->response_submitted &&
                   s->response_body.empty() && s->response_body.trailers.empty()) {
          e.reset_client(*s, NGHTTP2_NO_ERROR);  // the response went; the upload is not wanted
        }
      }
      e.consume(Peer::client, s->client_id,
                s->request_body.discard() + std::exchange(s->owed_client, 0));
      e.maybe_retire(*s);
      return 0;
    });
  }

  // A 1xx goes to the client as it came (no filters: it is not the answer).
  static void interim(H2Engine& e, H2Stream& s) {
    if (s.client_closed) return;
    const std::string status = std::to_string(s.response_head.status);
    const H2HeaderBlock block = response_block(status, s.response_head.headers);
    nghttp2_submit_headers(e.client_session_.get(), NGHTTP2_FLAG_NONE, s.client_id, nullptr,
                           block.data(), block.size(), nullptr);
  }

  // The client may use extended CONNECT (RFC 8441) once the upstream offers
  // it; a setting once offered is never withdrawn.
  static void mirror_settings(H2Engine& e, nghttp2_session* upstream) {
    if (e.connect_protocol_offered_ ||
        nghttp2_session_get_remote_settings(upstream, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) !=
            1) {
      return;
    }
    const nghttp2_settings_entry offer = {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1};
    if (nghttp2_submit_settings(e.client_session_.get(), NGHTTP2_FLAG_NONE, &offer, 1) == 0) {
      e.connect_protocol_offered_ = true;
    }
  }
};

H2CallbacksPtr H2UpstreamSide::callbacks() {
  H2CallbacksPtr cb = new_h2_callbacks();
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb.get(),
                                                          H2UpstreamCallbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb.get(), H2UpstreamCallbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb.get(),
                                                       H2UpstreamCallbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
      cb.get(), H2UpstreamCallbacks::on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb.get(),
                                                         H2UpstreamCallbacks::on_stream_close);
  return cb;
}

ssize_t H2UpstreamSide::read_request_body(nghttp2_session* session, int32_t stream_id, uint8_t* buf,
                                          size_t length, uint32_t* flags, nghttp2_data_source*,
                                          void* p) {
  try {
    H2Engine& e = engine_of(p);
    H2Stream* s = e.streams_.by_upstream(stream_id);
    if (s == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    size_t unpaid = 0;
    const ssize_t n = read_body_into_frame(session, stream_id, s->request_body, s->request_deferred,
                                           std::span<uint8_t>(buf, length), flags, unpaid);
    e.consume(Peer::client, s->client_id, unpaid);
    return n;
  } catch (const std::exception&) {
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
}

}  // namespace tlsgate::http
