// The body of an HTTP/1 message (RFC 9112 §6-§7): finds where it ends —
// after Content-Length bytes, after the last chunk and its trailers, or at
// the end of the connection — and counts its payload, skipping by length
// without copying.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tlsgate::http {

class BodyReader {
 public:
  enum class Status { more, done, malformed };

  void start_fixed(uint64_t length);
  void start_chunked();
  void start_until_close();

  // Consumes body bytes from the front of `in` (`used` says how many).
  Status feed(std::span<const uint8_t> in, size_t& used);
  // A body read to the end of the connection ends with it.
  bool ends_at_close() const { return mode_ == Mode::until_close; }
  // Payload so far: chunk sizes and trailers are not counted.
  uint64_t payload() const { return payload_; }

 private:
  enum class Mode { fixed, chunked, until_close };
  enum class Chunk {
    size,           // hex digits
    extension,      // ";name=value" up to the line end
    size_lf,        // the LF after a CR
    data,           // `remaining_` payload bytes
    data_cr,        // the CRLF after a chunk's data
    data_lf,        //
    trailer_start,  // a trailer line, or the empty line that ends the body
    trailer_line,   //
    trailer_end_lf  // the LF of that empty line
  };
  Status feed_chunked(std::span<const uint8_t> in, size_t& used);

  Mode mode_ = Mode::fixed;
  Chunk chunk_ = Chunk::size;
  uint64_t remaining_ = 0;
  uint64_t payload_ = 0;
  unsigned size_digits_ = 0;
  size_t line_length_ = 0;  // of the extension or trailer being skipped
};

}  // namespace tlsgate::http
