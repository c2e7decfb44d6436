// Reads one ICAP response incrementally and strictly (RFC 3507 §4.3-§4.5):
// the status line and headers (folded lines allowed, as c-icap folds
// X-Violations-Found), then, when `Encapsulated` announces them, the HTTP
// heads at its offsets and the chunked body. Anything else is an error with
// a reason: a connection that sent garbage is never reused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "icap/icap_response.h"

namespace tlsgate::icap {

class IcapResponseParser {
 public:
  // `max_body`: the most body bytes accepted (a modified message).
  explicit IcapResponseParser(size_t max_body) : max_body_(max_body) {}

  enum class Status { need_more, done, error };
  // Consumes from `in` up to the end of the response; `used` says how much.
  Status feed(std::span<const uint8_t> in, size_t& used);
  Status status() const { return status_; }
  const std::string& error() const { return error_; }
  IcapResponse& response() { return response_; }
  // Ready for the next response on the same connection.
  void reset();

  static constexpr size_t kMaxHead = 64 * 1024;

 private:
  enum class Stage {
    icap_head,
    http_heads,
    chunk_size,
    chunk_data,
    chunk_data_end,
    last_chunk_end
  };
  Status fail(std::string why);
  Status on_icap_head();
  Status read_http_heads();
  Status feed_body(std::span<const uint8_t> in, size_t& used);

  size_t max_body_;
  Status status_ = Status::need_more;
  Stage stage_ = Stage::icap_head;
  std::string error_;
  std::string buf_;  // head bytes, or a chunk-size line, gathered so far
  IcapResponse response_;
  size_t heads_size_ = 0;  // bytes of req-hdr + res-hdr
  size_t res_hdr_offset_ = 0;
  bool has_req_hdr_ = false;
  bool has_res_hdr_ = false;
  uint64_t chunk_left_ = 0;
};

}  // namespace tlsgate::icap
