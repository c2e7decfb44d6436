// The h2 engine's server session toward the client: requests come in, each
// client stream becomes an H2Stream; responses (or local replies) go out.
#include <cstdlib>
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

struct H2ClientCallbacks {
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* p) {
    return guarded([&]() -> int {
      if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
        return 0;
      }
      engine_of(p).streams_.add(frame->hd.stream_id);
      return 0;
    });
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* p) {
    return guarded([&]() -> int {
      H2Stream* s = engine_of(p).streams_.by_client(frame->hd.stream_id);
      if (s == nullptr) return 0;
      const std::string_view n = view(name, namelen);
      const std::string_view v = view(value, valuelen);
      if (s->phase != H2Phase::request_head) {
        s->request_body.trailers.push_back({std::string(n), std::string(v)});
        return 0;
      }
      RequestHead& r = s->request_head;
      if (n == ":method") {
        r.method = v;
      } else if (n == ":scheme") {
        r.scheme = v;
      } else if (n == ":authority") {
        r.authority = v;
      } else if (n == ":path") {
        r.path = v;
      } else if (n == ":protocol") {
        r.protocol = v;
      } else {
        if (n == "host" && r.authority.empty()) r.authority = v;
        r.headers.push_back({std::string(n), std::string(v)});
      }
      return 0;
    });
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* p) {
    return guarded([&]() -> int {
      H2Engine& e = engine_of(p);
      const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
      switch (frame->hd.type) {
        case NGHTTP2_HEADERS: {
          H2Stream* s = e.streams_.by_client(frame->hd.stream_id);
          if (s == nullptr) return 0;
          if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
            e.request_head_done(*s, end_stream);
          } else {  // trailers
            e.request_ended(*s);
          }
          return 0;
        }
        case NGHTTP2_DATA: {
          H2Stream* s = e.streams_.by_client(frame->hd.stream_id);
          if (s != nullptr && end_stream) e.request_ended(*s);
          return 0;
        }
        case NGHTTP2_GOAWAY:
          // The client opens no more streams: the upstream hears the same,
          // and both connections end once the open streams are done.
          e.client_goaway_ = true;
          if (e.upstream_session_) {
            nghttp2_submit_goaway(e.upstream_session_.get(), NGHTTP2_FLAG_NONE, 0,
                                  frame->goaway.error_code, nullptr, 0);
          }
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
      H2Stream* s = e.streams_.by_client(stream_id);
      if (s == nullptr) {
        e.consume(Peer::client, stream_id, len);  // nobody will take it
        return 0;
      }
      e.request_data(*s, std::span<const uint8_t>(data, len));
      return 0;
    });
  }

  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* p) {
    return guarded([&]() -> int {
      const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
      if (!end_stream || (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)) {
        return 0;
      }
      H2Engine& e = engine_of(p);
      H2Stream* s = e.streams_.by_client(frame->hd.stream_id);
      // The response is complete while the client still sends a request
      // nobody will read (a local reply, or an upstream that closed): stop it.
      if (s != nullptr && !s->client_ended && !s->tunnel &&
          (s->local_reply || s->upstream_closed)) {
        e.reset_client(*s, NGHTTP2_NO_ERROR);
      }
      return 0;
    });
  }

  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* p) {
    return guarded([&]() -> int {
      H2Engine& e = engine_of(p);
      H2Stream* s = e.streams_.by_client(stream_id);
      if (s == nullptr) return 0;
      s->client_closed = true;
      s->client_error = error_code;
      if (error_code != NGHTTP2_NO_ERROR) {
        e.reset_upstream(*s, error_code);  // the client reset it (or broke it)
        if (s->upstream_id != 0) {
          e.consume(Peer::upstream, s->upstream_id,
                    s->response_body.discard() + std::exchange(s->owed_upstream, 0));
        }
      }
      // What the client sent and nobody took still counts against its
      // connection window.
      if (s->upstream_id == 0 || s->upstream_closed || error_code != NGHTTP2_NO_ERROR) {
        e.consume(Peer::client, stream_id,
                  s->request_body.discard() + std::exchange(s->owed_client, 0));
      }
      e.maybe_retire(*s);
      return 0;
    });
  }
};

H2CallbacksPtr H2ClientSide::callbacks() {
  H2CallbacksPtr cb = new_h2_callbacks();
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb.get(),
                                                          H2ClientCallbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb.get(), H2ClientCallbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb.get(), H2ClientCallbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb.get(),
                                                            H2ClientCallbacks::on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb.get(), H2ClientCallbacks::on_frame_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb.get(),
                                                         H2ClientCallbacks::on_stream_close);
  return cb;
}

ssize_t H2ClientSide::read_response_body(nghttp2_session* session, int32_t stream_id, uint8_t* buf,
                                         size_t length, uint32_t* flags, nghttp2_data_source*,
                                         void* p) {
  try {
    H2Engine& e = engine_of(p);
    H2Stream* s = e.streams_.by_client(stream_id);
    if (s == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    size_t unpaid = 0;
    const ssize_t n =
        read_body_into_frame(session, stream_id, s->response_body, s->response_deferred,
                             std::span<uint8_t>(buf, length), flags, unpaid);
    if (s->upstream_id != 0) e.consume(Peer::upstream, s->upstream_id, unpaid);
    return n;
  } catch (const std::exception&) {
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
}

}  // namespace tlsgate::http
