// One direction of an HTTP/2 connection cut into frames (RFC 9113 §4, §6):
// the client's preface is checked, padding and priority fields are taken
// off, header-block fragments are handed on in place, and DATA and frames of
// no interest are skipped by length. Holds at most one frame header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tlsgate::http {

namespace h2 {
inline constexpr uint8_t kData = 0x0;
inline constexpr uint8_t kHeaders = 0x1;
inline constexpr uint8_t kRstStream = 0x3;
inline constexpr uint8_t kSettings = 0x4;
inline constexpr uint8_t kPushPromise = 0x5;
inline constexpr uint8_t kContinuation = 0x9;

inline constexpr uint8_t kEndStream = 0x1;
inline constexpr uint8_t kAck = 0x1;
inline constexpr uint8_t kEndHeaders = 0x4;
inline constexpr uint8_t kPadded = 0x8;
inline constexpr uint8_t kPriority = 0x20;

inline constexpr uint16_t kSettingsHeaderTableSize = 0x1;
}  // namespace h2

struct H2Frame {
  uint32_t length = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream_id = 0;
  // Known once the fields before the payload were read:
  uint32_t data_length = 0;      // DATA: payload without padding
  uint32_t promised_stream = 0;  // PUSH_PROMISE
};

// What the reader finds; a false return stops it.
class H2FrameHandler {
 public:
  virtual ~H2FrameHandler() = default;
  // The frame's header and its fields before any block fragment.
  virtual bool frame_begin(const H2Frame& f) = 0;
  // Part of a HEADERS, PUSH_PROMISE or CONTINUATION header block.
  virtual bool block_fragment(std::span<const uint8_t> bytes) = 0;
  // The frame's last byte was read.
  virtual bool frame_end(const H2Frame& f) = 0;
  // A SETTINGS parameter (not in an ACK).
  virtual bool setting(uint16_t id, uint32_t value) = 0;
};

class H2FrameReader {
 public:
  // `client`: this direction starts with the connection preface.
  explicit H2FrameReader(bool client) : stage_(client ? Stage::preface : Stage::header) {}

  // Reads all of `in`; false when it is not HTTP/2 or the handler said stop.
  bool feed(std::span<const uint8_t> in, H2FrameHandler& handler);

 private:
  enum class Stage { preface, header, prefix, fragment, skip, settings, failed };

  bool header_complete(H2FrameHandler& handler);
  bool prefix_complete(H2FrameHandler& handler);
  bool payload_done(H2FrameHandler& handler);

  Stage stage_;
  uint8_t buf_[9] = {};  // the preface position, a frame header, a prefix or a setting
  size_t have_ = 0;
  size_t preface_seen_ = 0;
  H2Frame frame_;
  uint32_t prefix_length_ = 0;  // pad length and priority / promised stream fields
  uint32_t fragment_left_ = 0;
  uint32_t skip_left_ = 0;  // padding, DATA, frames of no interest
  uint32_t settings_left_ = 0;
  bool expect_continuation_ = false;
  uint32_t block_stream_ = 0;
};

}  // namespace tlsgate::http
