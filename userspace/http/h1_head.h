// HTTP/1 message heads (RFC 9112 §2-§6): collected up to a bound, then
// parsed for what the observer needs — the start line and the headers that
// frame the body (Content-Length, Transfer-Encoding) or switch protocols.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tlsgate::http {

// Gathers one head: the start line through the empty line that ends it.
// Empty lines before a start line are skipped (RFC 9112 §2.2).
class HeadCollector {
 public:
  explicit HeadCollector(size_t limit) : limit_(limit) {}

  enum class Status { need_more, complete, over_limit };
  // Consumes from `in` up to the end of the head; `used` says how much.
  Status feed(std::span<const uint8_t> in, size_t& used);
  // Complete or partial: what was gathered so far.
  std::string_view head() const { return buf_; }
  // The first line is complete.
  bool has_start_line() const { return line_start_ > 0; }
  // Ready for the next message; a large buffer is given back.
  void reset();

 private:
  std::string buf_;
  size_t line_start_ = 0;
  size_t limit_;
};

// What both kinds of head carry for framing.
struct FramingHeaders {
  std::string_view host;
  std::optional<uint64_t> content_length;
  bool transfer_encoding = false;  // present at all
  bool chunked = false;            // chunked is its final coding
  bool upgrade = false;            // "Connection: upgrade" and an Upgrade header
};

struct RequestHead {
  std::string_view method;
  std::string_view target;
  FramingHeaders headers;
};

struct ResponseHead {
  int status = 0;
  FramingHeaders headers;
};

// nullopt: not a well-formed head. Views point into `head`.
std::optional<RequestHead> parse_request_head(std::string_view head);
std::optional<ResponseHead> parse_response_head(std::string_view head);

// Whether `partial` can still become a request line: a method token and
// then a space (looks at most at kMaxMethod bytes).
bool could_be_request(std::string_view partial);
// Whether the first line of `head` is a request line. Both let a flow that
// is not HTTP/1 be given up before a whole head was gathered.
bool starts_with_request_line(std::string_view head);

}  // namespace tlsgate::http
