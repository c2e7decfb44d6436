#include "http/h1_body.h"

#include <algorithm>
#include <limits>

namespace tlsgate::http {

namespace {

// A chunk extension or trailer line longer than this is not HTTP we follow.
constexpr size_t kMaxLine = 8192;

int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void BodyReader::start_fixed(uint64_t length) {
  mode_ = Mode::fixed;
  remaining_ = length;
  payload_ = 0;
}

void BodyReader::start_chunked() {
  mode_ = Mode::chunked;
  chunk_ = Chunk::size;
  remaining_ = 0;
  size_digits_ = 0;
  payload_ = 0;
}

void BodyReader::start_until_close() {
  mode_ = Mode::until_close;
  payload_ = 0;
}

BodyReader::Status BodyReader::feed(std::span<const uint8_t> in, size_t& used) {
  switch (mode_) {
    case Mode::fixed: {
      used = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
      remaining_ -= used;
      payload_ += used;
      return remaining_ == 0 ? Status::done : Status::more;
    }
    case Mode::until_close:
      used = in.size();
      payload_ += used;
      return Status::more;
    case Mode::chunked:
      return feed_chunked(in, used);
  }
  return Status::malformed;
}

BodyReader::Status BodyReader::feed_chunked(std::span<const uint8_t> in, size_t& used) {
  size_t i = 0;
  auto end_of_size_line = [&] {
    chunk_ = remaining_ == 0 ? Chunk::trailer_start : Chunk::data;
    line_length_ = 0;
  };
  while (i < in.size()) {
    const uint8_t c = in[i];
    switch (chunk_) {
      case Chunk::size: {
        const int digit = hex_value(c);
        if (digit >= 0) {
          if (remaining_ > (std::numeric_limits<uint64_t>::max() >> 4)) {
            used = i;
            return Status::malformed;
          }
          remaining_ = (remaining_ << 4) | static_cast<uint64_t>(digit);
          ++size_digits_;
          ++i;
          break;
        }
        if (size_digits_ == 0) {
          used = i;
          return Status::malformed;
        }
        if (c == ';' || c == ' ' || c == '\t') {
          chunk_ = Chunk::extension;
          line_length_ = 0;
        } else if (c == '\r') {
          chunk_ = Chunk::size_lf;
        } else if (c == '\n') {
          end_of_size_line();
        } else {
          used = i;
          return Status::malformed;
        }
        ++i;
        break;
      }
      case Chunk::extension:
        if (c == '\r') {
          chunk_ = Chunk::size_lf;
        } else if (c == '\n') {
          end_of_size_line();
        } else if (++line_length_ > kMaxLine) {
          used = i;
          return Status::malformed;
        }
        ++i;
        break;
      case Chunk::size_lf:
        if (c != '\n') {
          used = i;
          return Status::malformed;
        }
        end_of_size_line();
        ++i;
        break;
      case Chunk::data: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size() - i));
        remaining_ -= n;
        payload_ += n;
        i += n;
        if (remaining_ == 0) chunk_ = Chunk::data_cr;
        break;
      }
      case Chunk::data_cr:
        if (c == '\r') {
          chunk_ = Chunk::data_lf;
        } else if (c == '\n') {
          chunk_ = Chunk::size;
          size_digits_ = 0;
        } else {
          used = i;
          return Status::malformed;
        }
        ++i;
        break;
      case Chunk::data_lf:
        if (c != '\n') {
          used = i;
          return Status::malformed;
        }
        chunk_ = Chunk::size;
        size_digits_ = 0;
        ++i;
        break;
      case Chunk::trailer_start:
        ++i;
        if (c == '\n') {
          used = i;
          return Status::done;
        }
        chunk_ = c == '\r' ? Chunk::trailer_end_lf : Chunk::trailer_line;
        line_length_ = 1;
        break;
      case Chunk::trailer_line:
        if (c == '\n') {
          chunk_ = Chunk::trailer_start;
        } else if (++line_length_ > kMaxLine) {
          used = i;
          return Status::malformed;
        }
        ++i;
        break;
      case Chunk::trailer_end_lf:
        if (c != '\n') {
          used = i;
          return Status::malformed;
        }
        used = i + 1;
        return Status::done;
    }
  }
  used = i;
  return Status::more;
}

}  // namespace tlsgate::http
