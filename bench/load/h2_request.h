// The bench client's HTTP/2 (hold --h2): one GET on stream 1 written by hand
// (connection preface, empty SETTINGS, HEADERS with HPACK literals that never
// touch the dynamic table) and the frames of its answer read until the
// stream ends. Enough to hold an idle inspected h2 connection, not a client.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tlsgate::bench {

// Preface + SETTINGS + HEADERS (END_STREAM) for GET https://authority/path.
std::string h2_get_request(std::string_view authority, std::string_view path);

enum class H2ResponseState { more, done, failed };

// Reads the frames in `buffer` (whole ones, removed as read) until stream 1
// ends (done) or is reset / the connection is refused (failed; `why` says
// which). `body_bytes` grows by the DATA payload of stream 1.
H2ResponseState h2_read_response(std::string& buffer, uint64_t& body_bytes, std::string& why);

}  // namespace tlsgate::bench
