#include "http/h1_body_decoder.h"

#include <algorithm>

#include "http/h1_syntax.h"

namespace tlsgate::http {

namespace {

constexpr unsigned kMaxSizeDigits = 16;  // 64 bits
constexpr size_t kMaxExtension = 4096;
constexpr size_t kMaxTrailers = 16384;

int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void H1BodyDecoder::start_length(uint64_t length) {
  *this = H1BodyDecoder();
  mode_ = Mode::length;
  remaining_ = length;
}

void H1BodyDecoder::start_chunked() {
  *this = H1BodyDecoder();
  mode_ = Mode::chunked;
}

void H1BodyDecoder::start_until_close() {
  *this = H1BodyDecoder();
  mode_ = Mode::until_close;
}

H1BodyDecoder::Status H1BodyDecoder::fail(const char* why) {
  error_ = why;
  return Status::malformed;
}

H1BodyDecoder::Status H1BodyDecoder::feed(std::span<const uint8_t> in, size_t& used,
                                          std::span<const uint8_t>& payload) {
  used = 0;
  payload = {};
  switch (mode_) {
    case Mode::until_close:
      payload = in;
      used = in.size();
      return Status::more;
    case Mode::length: {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
      payload = in.first(n);
      used = n;
      remaining_ -= n;
      return remaining_ == 0 ? Status::done : Status::more;
    }
    case Mode::chunked:
      return feed_chunked(in, used, payload);
  }
  return Status::malformed;
}

H1BodyDecoder::Status H1BodyDecoder::feed_chunked(std::span<const uint8_t> in, size_t& used,
                                                  std::span<const uint8_t>& payload) {
  while (used < in.size()) {
    const uint8_t c = in[used];
    switch (chunk_) {
      case Chunk::size: {
        const int v = hex_value(c);
        if (v >= 0) {
          if (++size_digits_ > kMaxSizeDigits) return fail("chunk_size_too_large");
          remaining_ = remaining_ << 4 | static_cast<uint64_t>(v);
          ++used;
          break;
        }
        if (size_digits_ == 0) return fail("bad_chunk_size");
        if (c == '\r') {
          chunk_ = Chunk::size_lf;
        } else if (c == ';') {
          chunk_ = Chunk::extension;
          extension_length_ = 0;
        } else {
          return fail("bad_chunk_size");
        }
        ++used;
        break;
      }
      case Chunk::extension:
        if (c == '\r') {
          chunk_ = Chunk::size_lf;
        } else if (c == '\n' || (c < 0x20 && c != '\t') || c == 0x7f) {
          return fail("bad_chunk_extension");
        } else if (++extension_length_ > kMaxExtension) {
          return fail("chunk_extension_too_long");
        }
        ++used;
        break;
      case Chunk::size_lf:
        if (c != '\n') return fail("bare_cr");
        ++used;
        if (remaining_ == 0) {
          chunk_ = Chunk::trailer_line;
          line_.clear();
        } else {
          chunk_ = Chunk::data;
        }
        break;
      case Chunk::data: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size() - used));
        payload = in.subspan(used, n);
        used += n;
        remaining_ -= n;
        if (remaining_ == 0) chunk_ = Chunk::data_cr;
        return Status::more;
      }
      case Chunk::data_cr:
        if (c != '\r') return fail("bad_chunk_end");
        chunk_ = Chunk::data_lf;
        ++used;
        break;
      case Chunk::data_lf:
        if (c != '\n') return fail("bad_chunk_end");
        chunk_ = Chunk::size;
        size_digits_ = 0;
        ++used;
        break;
      case Chunk::trailer_line:
        ++used;
        if (c == '\r') {
          chunk_ = Chunk::trailer_lf;
        } else if (c == '\n') {
          return fail("bare_lf");
        } else if (trailers_.size() + line_.size() >= kMaxTrailers) {
          return fail("trailers_too_long");
        } else {
          line_.push_back(static_cast<char>(c));
        }
        break;
      case Chunk::trailer_lf: {
        if (c != '\n') return fail("bare_cr");
        ++used;
        if (line_.empty()) return Status::done;
        Status s = end_of_trailer_line();
        if (s != Status::more) return s;
        chunk_ = Chunk::trailer_line;
        break;
      }
    }
  }
  return Status::more;
}

// A trailer field is a field line like any other (RFC 9112 §7.1.2).
H1BodyDecoder::Status H1BodyDecoder::end_of_trailer_line() {
  if (line_.front() == ' ' || line_.front() == '\t') return fail("obs_fold");
  const size_t colon = line_.find(':');
  if (colon == std::string::npos || !is_token(std::string_view(line_).substr(0, colon))) {
    return fail("bad_field_name");
  }
  if (!valid_field_value(std::string_view(line_).substr(colon + 1))) {
    return fail("control_character");
  }
  trailers_ += line_;
  trailers_ += "\r\n";
  line_.clear();
  return Status::more;
}

}  // namespace tlsgate::http
