// HTTP/2 side of PageResponder: an nghttp2 server session on memory buffers.
// Internal to pages/.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "pages/page_responder.h"

namespace tlsgate::pages {

class H2Responder : public ProtocolResponder {
 public:
  explicit H2Responder(PageHandler handler);
  ~H2Responder() override;
  H2Responder(const H2Responder&) = delete;
  H2Responder& operator=(const H2Responder&) = delete;

  std::vector<uint8_t> feed(std::span<const uint8_t> plaintext) override;
  bool finished() const override;

 private:
  struct Stream {
    PageRequest request;
    size_t header_bytes = 0;
    bool oversized = false;
    bool answered = false;
    std::string body;  // response body still to send
    size_t sent = 0;
    bool body_done = false;
  };

  // nghttp2 callbacks (user_data = this).
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                       void* self);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* self);
  static ssize_t read_body(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                           uint32_t* data_flags, nghttp2_data_source* source, void* self);

  void answer(int32_t stream_id, Stream& stream);
  void drain_output(std::vector<uint8_t>& out);

  struct SessionDeleter {
    void operator()(nghttp2_session* s) const { nghttp2_session_del(s); }
  };
  std::unique_ptr<nghttp2_session, SessionDeleter> session_;
  PageHandler handler_;
  std::map<int32_t, Stream> streams_;
  bool answered_any_ = false;
  bool goaway_submitted_ = false;
  bool failed_ = false;
};

}  // namespace tlsgate::pages
