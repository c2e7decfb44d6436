// HTTP/1.1 message syntax (RFC 9112) as the gateway enforces it on inspected
// flows: strict, because a message two parsers read differently is how
// requests are smuggled. Heads are parsed whole (after H1HeadCollector found
// their end); anything ambiguous — bare CR or LF, NUL and other controls,
// obs-fold, whitespace before a colon, conflicting or repeated lengths,
// Transfer-Encoding with Content-Length or not ending in chunked — is an
// error with a reason, never a guess.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "http/message.h"

namespace tlsgate::http {

// Gathers one head: the start line through the empty line that ends it
// (empty lines before a request line are skipped, RFC 9112 §2.2). A line
// ends at LF; whether a CR came before it is the parser's business.
class H1HeadCollector {
 public:
  explicit H1HeadCollector(size_t limit) : limit_(limit) {}
  enum class Status { need_more, complete, over_limit };
  // Consumes from `in` up to the end of the head; `used` says how much.
  Status feed(std::span<const uint8_t> in, size_t& used);
  std::string_view head() const { return buf_; }
  bool empty() const { return buf_.empty(); }
  void reset();

 private:
  std::string buf_;
  size_t line_start_ = 0;
  size_t limit_;
};

// How a message's body is delimited (RFC 9112 §6.3).
enum class BodyFraming : uint8_t { none, length, chunked, until_close };

struct H1Request {
  RequestHead head;  // headers: every field as sent, Host included
  int minor_version = 1;
  BodyFraming framing = BodyFraming::none;
  uint64_t content_length = 0;
  bool keep_alive = true;        // no "Connection: close" (HTTP/1.0: "keep-alive" given)
  bool expect_continue = false;  // Expect: 100-continue
  bool upgrade = false;          // Connection: upgrade with an Upgrade field
};

struct H1Response {
  ResponseHead head;  // headers: every field as sent
  std::string reason;
  int minor_version = 1;
  BodyFraming framing = BodyFraming::none;  // as the head says; the request may overrule
  uint64_t content_length = 0;
  bool keep_alive = true;
};

// Why a message was refused: "bad_request_line", "obs_fold", ...
struct H1Error {
  std::string reason;
};

std::variant<H1Request, H1Error> parse_h1_request(std::string_view head);
std::variant<H1Response, H1Error> parse_h1_response(std::string_view head);

// Whether a field's value (after OWS trimming) holds only what RFC 9110 §5.5
// allows: VCHAR, SP, HTAB and obs-text.
bool valid_field_value(std::string_view value);
// RFC 9110 §5.6.2.
bool is_token(std::string_view s);
bool iequals(std::string_view a, std::string_view b);

}  // namespace tlsgate::http
