// The HTTP/1.1 heads an ICAP service sends back inside its answer
// (req-hdr, res-hdr), read strictly into the HTTP layer's message types.
#pragma once

#include <optional>
#include <string_view>

#include "http/message.h"

namespace tlsgate::icap {

// `head` runs from the start line through the empty line. An absolute-form
// target ("https://host/path") becomes scheme, authority and path; an
// origin-form one takes its authority from Host. nullopt: malformed.
std::optional<http::RequestHead> read_http_request_head(std::string_view head);
std::optional<http::ResponseHead> read_http_response_head(std::string_view head);

// Splits header lines ("name: value" CRLF ...) ending at an empty line or
// the end of `lines`; obs-fold continuation lines (leading SP / HTAB) are
// appended to the previous value. false: a malformed line.
bool read_header_lines(std::string_view lines, http::HeaderList& out);

}  // namespace tlsgate::icap
