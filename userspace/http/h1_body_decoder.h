// The body of an HTTP/1.1 message (RFC 9112 §6-§7), strictly: finds where it
// ends and hands out its payload in place (chunk framing removed, nothing
// copied), keeping the trailer section of a chunked body. Chunk sizes must be
// hex digits that fit 64 bits, every line ends in CRLF, and extensions and
// trailers are bounded; anything else is malformed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tlsgate::http {

class H1BodyDecoder {
 public:
  enum class Status : uint8_t { more, done, malformed };

  void start_length(uint64_t length);
  void start_chunked();
  void start_until_close();

  // Consumes framing and at most one run of payload from the front of `in`
  // (`used` says how much); `payload` is that run, inside `in` (maybe empty).
  // Call again with the rest until it consumed everything or is done.
  Status feed(std::span<const uint8_t> in, size_t& used, std::span<const uint8_t>& payload);
  // The trailer fields of a chunked body that is done, each line with its
  // CRLF ("" when none).
  std::string_view trailers() const { return trailers_; }
  const char* error() const { return error_; }
  bool until_close() const { return mode_ == Mode::until_close; }
  // Payload bytes still to come of a body of known length (start_length).
  uint64_t remaining_length() const { return mode_ == Mode::length ? remaining_ : 0; }

 private:
  enum class Mode : uint8_t { length, chunked, until_close };
  enum class Chunk : uint8_t {
    size,          // hex digits
    extension,     // ";name=value" up to CR
    size_lf,       // the LF after that CR
    data,          // `remaining_` payload bytes
    data_cr,       // the CRLF after a chunk's data
    data_lf,       //
    trailer_line,  // a trailer field, or the empty line that ends the body
    trailer_lf,    // the LF after a trailer line's CR
  };
  Status fail(const char* why);
  Status feed_chunked(std::span<const uint8_t> in, size_t& used, std::span<const uint8_t>& payload);
  Status end_of_trailer_line();

  Mode mode_ = Mode::length;
  Chunk chunk_ = Chunk::size;
  uint64_t remaining_ = 0;
  unsigned size_digits_ = 0;
  size_t extension_length_ = 0;
  std::string line_;      // the trailer line being read
  std::string trailers_;  // complete trailer lines
  const char* error_ = nullptr;
};

}  // namespace tlsgate::http
