#include "http/h2_session.h"

#include <new>

namespace tlsgate::http {

H2CallbacksPtr new_h2_callbacks() {
  nghttp2_session_callbacks* raw = nullptr;
  if (nghttp2_session_callbacks_new(&raw) != 0) throw std::bad_alloc();
  return H2CallbacksPtr(raw);
}

H2OptionPtr new_h2_option() {
  nghttp2_option* raw = nullptr;
  if (nghttp2_option_new(&raw) != 0) throw std::bad_alloc();
  return H2OptionPtr(raw);
}

void H2HeaderBlock::add(std::string_view name, std::string_view value) {
  // nghttp2 takes non-const pointers but only reads them.
  nv_.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                 reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                 value.size(), NGHTTP2_NV_FLAG_NONE});
}

void H2HeaderBlock::add_all(const HeaderList& fields) {
  for (const auto& f : fields) add(f.name, f.value);
}

H2HeaderBlock request_block(const RequestHead& head) {
  H2HeaderBlock block;
  block.add(":method", head.method);
  const bool plain_connect = head.method == "CONNECT" && head.protocol.empty();
  if (!plain_connect) {
    block.add(":scheme", head.scheme);
    block.add(":path", head.path);
  }
  if (!head.authority.empty()) block.add(":authority", head.authority);
  if (!head.protocol.empty()) block.add(":protocol", head.protocol);
  block.add_all(head.headers);
  return block;
}

H2HeaderBlock response_block(const std::string& status_text, const HeaderList& fields) {
  H2HeaderBlock block;
  block.add(":status", status_text);
  block.add_all(fields);
  return block;
}

bool settings_offer_connect_protocol(std::span<const uint8_t> frames) {
  constexpr size_t kFrameHead = 9;
  constexpr size_t kEntry = 6;
  bool offered = false;
  while (frames.size() >= kFrameHead) {
    const size_t length = (size_t{frames[0]} << 16) | (size_t{frames[1]} << 8) | frames[2];
    if (frames.size() < kFrameHead + length) break;
    const bool ack = (frames[4] & NGHTTP2_FLAG_ACK) != 0;
    if (frames[3] == NGHTTP2_SETTINGS && !ack) {
      for (size_t at = kFrameHead; at + kEntry <= kFrameHead + length; at += kEntry) {
        const uint16_t id = static_cast<uint16_t>((frames[at] << 8) | frames[at + 1]);
        const uint32_t value = (uint32_t{frames[at + 2]} << 24) | (uint32_t{frames[at + 3]} << 16) |
                               (uint32_t{frames[at + 4]} << 8) | frames[at + 5];
        if (id == NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) offered = value == 1;
      }
    }
    frames = frames.subspan(kFrameHead + length);
  }
  return offered;
}

ssize_t read_body_into_frame(nghttp2_session* session, int32_t stream_id, H2BodyQueue& body,
                             bool& deferred, std::span<uint8_t> out, uint32_t* flags,
                             size_t& unpaid) {
  const size_t n = body.take(out, unpaid);
  if (body.empty() && body.ended) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!body.trailers.empty()) {
      H2HeaderBlock block;
      block.add_all(body.trailers);
      if (nghttp2_submit_trailer(session, stream_id, block.data(), block.size()) == 0) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
    }
  } else if (n == 0) {
    deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<ssize_t>(n);
}

}  // namespace tlsgate::http
