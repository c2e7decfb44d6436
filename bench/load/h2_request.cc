#include "load/h2_request.h"

#include <stdexcept>

namespace tlsgate::bench {

namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr uint8_t kData = 0x0, kHeaders = 0x1, kRstStream = 0x3, kGoaway = 0x7;
constexpr uint8_t kEndStream = 0x1, kEndHeaders = 0x4;
constexpr size_t kFrameHead = 9;

void frame_head(std::string& out, size_t length, uint8_t type, uint8_t flags, uint32_t stream) {
  out += static_cast<char>(length >> 16);
  out += static_cast<char>(length >> 8);
  out += static_cast<char>(length);
  out += static_cast<char>(type);
  out += static_cast<char>(flags);
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>(stream >> shift);
}

// HPACK literal without indexing, name from the static table (RFC 7541 §6.2.2).
void literal(std::string& block, uint8_t name_index, std::string_view value) {
  if (name_index >= 15 || value.size() >= 127) {
    throw std::invalid_argument("h2 request: header too long for the bench's encoder");
  }
  block += static_cast<char>(name_index);
  block += static_cast<char>(value.size());
  block += value;
}

}  // namespace

std::string h2_get_request(std::string_view authority, std::string_view path) {
  std::string block;
  block += '\x82';  // :method GET
  block += '\x87';  // :scheme https
  if (path == "/") {
    block += '\x84';  // :path /
  } else {
    literal(block, 4, path);
  }
  literal(block, 1, authority);
  std::string out(kPreface);
  frame_head(out, 0, 0x4, 0, 0);  // SETTINGS, empty
  frame_head(out, block.size(), kHeaders, kEndStream | kEndHeaders, 1);
  return out + block;
}

H2ResponseState h2_read_response(std::string& buffer, uint64_t& body_bytes, std::string& why) {
  size_t at = 0;
  H2ResponseState state = H2ResponseState::more;
  while (state == H2ResponseState::more && buffer.size() - at >= kFrameHead) {
    const auto byte = [&](size_t i) { return static_cast<uint8_t>(buffer[at + i]); };
    const size_t length = (size_t{byte(0)} << 16) | (size_t{byte(1)} << 8) | byte(2);
    if (buffer.size() - at < kFrameHead + length) break;
    const uint8_t type = byte(3), flags = byte(4);
    const uint32_t stream = ((uint32_t{byte(5)} & 0x7f) << 24) | (uint32_t{byte(6)} << 16) |
                            (uint32_t{byte(7)} << 8) | byte(8);
    if (type == kGoaway) {
      why = "GOAWAY";
      state = H2ResponseState::failed;
    } else if (stream == 1 && type == kRstStream) {
      why = "RST_STREAM on the request";
      state = H2ResponseState::failed;
    } else if (stream == 1 && (type == kData || type == kHeaders)) {
      if (type == kData) body_bytes += length;
      if ((flags & kEndStream) != 0) state = H2ResponseState::done;
    }
    at += kFrameHead + length;
  }
  buffer.erase(0, at);
  return state;
}

}  // namespace tlsgate::bench
