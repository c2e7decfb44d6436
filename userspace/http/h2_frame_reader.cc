#include "http/h2_frame_reader.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace tlsgate::http {

namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr size_t kFrameHeader = 9;
constexpr uint32_t kSetting = 6;

uint32_t read32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

bool may_be_padded(uint8_t type) {
  return type == h2::kData || type == h2::kHeaders || type == h2::kPushPromise;
}

}  // namespace

bool H2FrameReader::feed(std::span<const uint8_t> in, H2FrameHandler& handler) {
  size_t i = 0;
  // Copies up to `want` bytes of `in` into buf_; true once buf_ holds `want`.
  auto gather = [&](size_t want) {
    const size_t n = std::min(want - have_, in.size() - i);
    std::memcpy(buf_ + have_, in.data() + i, n);
    have_ += n;
    i += n;
    return have_ == want;
  };
  auto fail = [&] {
    stage_ = Stage::failed;
    return false;
  };
  while (true) {
    switch (stage_) {
      case Stage::failed:
        return false;
      case Stage::preface:
        while (i < in.size() && preface_seen_ < kPreface.size()) {
          if (in[i] != static_cast<uint8_t>(kPreface[preface_seen_])) return fail();
          ++i;
          ++preface_seen_;
        }
        if (preface_seen_ < kPreface.size()) return true;
        stage_ = Stage::header;
        break;
      case Stage::header:
        if (!gather(kFrameHeader)) return true;
        if (!header_complete(handler)) return fail();
        break;
      case Stage::prefix:
        if (!gather(prefix_length_)) return true;
        if (!prefix_complete(handler)) return fail();
        break;
      case Stage::fragment:
        if (fragment_left_ > 0) {
          if (i == in.size()) return true;
          const size_t n = std::min<size_t>(fragment_left_, in.size() - i);
          if (!handler.block_fragment(in.subspan(i, n))) return fail();
          i += n;
          fragment_left_ -= static_cast<uint32_t>(n);
          if (fragment_left_ > 0) return true;
        }
        stage_ = Stage::skip;  // the padding
        break;
      case Stage::skip:
        if (skip_left_ > 0) {
          const size_t n = std::min<size_t>(skip_left_, in.size() - i);
          i += n;
          skip_left_ -= static_cast<uint32_t>(n);
          if (skip_left_ > 0) return true;
        }
        if (!payload_done(handler)) return fail();
        break;
      case Stage::settings:
        if (settings_left_ == 0) {
          if (!payload_done(handler)) return fail();
          break;
        }
        if (!gather(kSetting)) return true;
        have_ = 0;
        settings_left_ -= kSetting;
        if (!handler.setting(static_cast<uint16_t>((buf_[0] << 8) | buf_[1]), read32(buf_ + 2))) {
          return fail();
        }
        break;
    }
  }
}

bool H2FrameReader::header_complete(H2FrameHandler& handler) {
  frame_ = {};
  frame_.length = (uint32_t{buf_[0]} << 16) | (uint32_t{buf_[1]} << 8) | uint32_t{buf_[2]};
  frame_.type = buf_[3];
  frame_.flags = buf_[4];
  frame_.stream_id = read32(buf_ + 5) & 0x7fffffffu;
  have_ = 0;
  // Nothing may come between a header block's frames (RFC 9113 §6.10).
  if (expect_continuation_ != (frame_.type == h2::kContinuation)) return false;
  if (frame_.type == h2::kContinuation && frame_.stream_id != block_stream_) return false;
  const bool padded = may_be_padded(frame_.type) && (frame_.flags & h2::kPadded) != 0;
  prefix_length_ = padded ? 1 : 0;
  switch (frame_.type) {
    case h2::kData:
      if (frame_.stream_id == 0) return false;
      break;
    case h2::kHeaders:
      if (frame_.stream_id == 0) return false;
      if ((frame_.flags & h2::kPriority) != 0) prefix_length_ += 5;
      break;
    case h2::kPushPromise:
      if (frame_.stream_id == 0) return false;
      prefix_length_ += 4;
      break;
    case h2::kRstStream:
      if (frame_.stream_id == 0 || frame_.length != 4) return false;
      break;
    case h2::kSettings:
      if (frame_.stream_id != 0) return false;
      if ((frame_.flags & h2::kAck) != 0) {
        if (frame_.length != 0) return false;
        break;
      }
      if (frame_.length % kSetting != 0) return false;
      settings_left_ = frame_.length;
      stage_ = Stage::settings;
      return handler.frame_begin(frame_);
    default:
      break;
  }
  if (prefix_length_ > frame_.length) return false;
  stage_ = Stage::prefix;
  return true;
}

bool H2FrameReader::prefix_complete(H2FrameHandler& handler) {
  const bool padded = may_be_padded(frame_.type) && (frame_.flags & h2::kPadded) != 0;
  const uint32_t pad = padded ? buf_[0] : 0;
  if (uint64_t{prefix_length_} + pad > frame_.length) return false;
  const uint32_t body = frame_.length - prefix_length_ - pad;
  have_ = 0;
  switch (frame_.type) {
    case h2::kData:
      frame_.data_length = body;
      skip_left_ = body + pad;
      stage_ = Stage::skip;
      break;
    case h2::kPushPromise:
      frame_.promised_stream = read32(buf_ + (padded ? 1 : 0)) & 0x7fffffffu;
      [[fallthrough]];
    case h2::kHeaders:
    case h2::kContinuation:
      if ((frame_.flags & h2::kEndHeaders) == 0) {
        expect_continuation_ = true;
        if (frame_.type != h2::kContinuation) block_stream_ = frame_.stream_id;
      } else {
        expect_continuation_ = false;
      }
      fragment_left_ = body;
      skip_left_ = pad;
      stage_ = Stage::fragment;
      break;
    default:
      skip_left_ = body;
      stage_ = Stage::skip;
      break;
  }
  return handler.frame_begin(frame_);
}

bool H2FrameReader::payload_done(H2FrameHandler& handler) {
  stage_ = Stage::header;
  return handler.frame_end(frame_);
}

}  // namespace tlsgate::http
