// nghttp2 handles owned by RAII types, and header lists turned into the
// name/value arrays nghttp2's submit calls take. Internal to the h2 engine.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "http/h2_body_queue.h"
#include "http/message.h"

namespace tlsgate::http {

struct H2SessionDeleter {
  void operator()(nghttp2_session* s) const { nghttp2_session_del(s); }
};
using H2SessionPtr = std::unique_ptr<nghttp2_session, H2SessionDeleter>;

struct H2CallbacksDeleter {
  void operator()(nghttp2_session_callbacks* c) const { nghttp2_session_callbacks_del(c); }
};
using H2CallbacksPtr = std::unique_ptr<nghttp2_session_callbacks, H2CallbacksDeleter>;

struct H2OptionDeleter {
  void operator()(nghttp2_option* o) const { nghttp2_option_del(o); }
};
using H2OptionPtr = std::unique_ptr<nghttp2_option, H2OptionDeleter>;

// Throw std::bad_alloc when nghttp2 cannot allocate.
H2CallbacksPtr new_h2_callbacks();
H2OptionPtr new_h2_option();

// A header block for nghttp2_submit_*: it points into the strings it was
// given (nghttp2 copies them at submission), so they must outlive it.
class H2HeaderBlock {
 public:
  void add(std::string_view name, std::string_view value);
  void add_all(const HeaderList& fields);
  const nghttp2_nv* data() const { return nv_.data(); }
  size_t size() const { return nv_.size(); }

 private:
  std::vector<nghttp2_nv> nv_;
};

// A request head as h2 sends it: pseudo-headers first (CONNECT without
// :protocol has only :method and :authority, RFC 9113 §8.5).
H2HeaderBlock request_block(const RequestHead& head);
// `status_text` must outlive the block.
H2HeaderBlock response_block(const std::string& status_text, const HeaderList& fields);

// Whether the SETTINGS among these frames (what a server sends first, read
// before its session exists) set SETTINGS_ENABLE_CONNECT_PROTOCOL to 1.
// Only whole frames count.
bool settings_offer_connect_protocol(std::span<const uint8_t> frames);

// A DATA frame's worth of `body` for an nghttp2 data source, either way:
// its bytes; at the body's end also EOF, with its trailers submitted when it
// has some; NGHTTP2_ERR_DEFERRED (and `deferred` set, so the engine resumes
// the stream) when nothing is waiting yet. `unpaid`: bytes taken whose
// sender must still be told they were consumed.
ssize_t read_body_into_frame(nghttp2_session* session, int32_t stream_id, H2BodyQueue& body,
                             bool& deferred, std::span<uint8_t> out, uint32_t* flags,
                             size_t& unpaid);

}  // namespace tlsgate::http
