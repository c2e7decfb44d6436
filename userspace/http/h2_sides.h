// The nghttp2 callbacks of the h2 engine's two sessions (user_data is the
// H2Engine): H2ClientSide for the server session toward the client,
// H2UpstreamSide for the client session toward the upstream. Each side's
// data source reads the body the other side brought. Internal to the engine.
#pragma once

#include <exception>

#include "http/h2_session.h"

namespace tlsgate::http {

// Every callback runs inside nghttp2's C code: nothing may throw through it.
template <typename Fn>
int guarded(Fn fn) noexcept {
  try {
    return fn();
  } catch (const std::exception&) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
}

struct H2ClientSide {
  static H2CallbacksPtr callbacks();
  // The response body (or a local reply) of a client stream.
  static ssize_t read_response_body(nghttp2_session* session, int32_t stream_id, uint8_t* buf,
                                    size_t length, uint32_t* flags, nghttp2_data_source* source,
                                    void* engine);
};

struct H2UpstreamSide {
  static H2CallbacksPtr callbacks();
  // The request body of an upstream stream.
  static ssize_t read_request_body(nghttp2_session* session, int32_t stream_id, uint8_t* buf,
                                   size_t length, uint32_t* flags, nghttp2_data_source* source,
                                   void* engine);
};

}  // namespace tlsgate::http
