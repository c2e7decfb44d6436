// An ICAP response (RFC 3507 §4.3) as the parser delivers it: the ICAP
// status and headers, and for a 200 the encapsulated HTTP message the
// service sends back (modified request, modified response, or its own
// answer to a request).
#pragma once

#include <optional>
#include <string>

#include "http/message.h"

namespace tlsgate::icap {

struct IcapResponse {
  int status = 0;
  std::string reason;
  http::HeaderList headers;                    // ICAP headers; folded lines joined with a space
  std::optional<http::RequestHead> request;    // req-hdr
  std::optional<http::ResponseHead> response;  // res-hdr
  bool has_body = false;                       // a req-body / res-body / opt-body came
  std::string body;                            // its bytes, chunk framing removed
};

}  // namespace tlsgate::icap
