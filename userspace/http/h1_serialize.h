// HTTP/1.1 heads as the gateway writes them: a forwarded message's head from
// its RequestHead / ResponseHead (fields in their order and case), and the
// gateway's own answers (LocalReply, 100 Continue).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "http/message.h"

namespace tlsgate::http {

std::string serialize_request_head(const RequestHead& head, int minor_version);
std::string serialize_response_head(const ResponseHead& head, std::string_view reason,
                                    int minor_version);
// The whole answer: status line, the reply's fields, Content-Length, and
// "Connection: close" when `close`; no body bytes for a HEAD request.
std::string serialize_local_reply(const LocalReply& reply, bool head_request, bool close);
// "Misdirected Request" for 421, ...; "" for a status it does not know.
std::string_view reason_phrase(int status);

// Removes every field named `name` (case-insensitive).
void remove_field(HeaderList& headers, std::string_view name);
// A message whose body is now `length` bytes whatever it was framed as.
void set_content_length(HeaderList& headers, size_t length);

}  // namespace tlsgate::http
