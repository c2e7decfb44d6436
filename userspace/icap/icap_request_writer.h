// ICAP requests (RFC 3507 §4): OPTIONS, and REQMOD / RESPMOD carrying the
// HTTP message as encapsulated HTTP/1.1 heads (offsets in `Encapsulated`)
// and its body as ICAP chunks, optionally split at a Preview. The body is
// never copied here: a scan writes the head, then chunk framing around the
// caller's bytes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "config/icap_service.h"
#include "http/message.h"

namespace tlsgate::icap {

// The message one scan hands to the service.
struct ScanMessage {
  config::IcapMethod method = config::IcapMethod::respmod;
  const http::RequestHead* request = nullptr;    // always (RESPMOD: the request it answers)
  const http::ResponseHead* response = nullptr;  // RESPMOD only
  std::string client_ip;                         // X-Client-IP; "" leaves it out
};

struct ScanHeadOptions {
  bool has_body = true;           // false: null-body
  std::optional<size_t> preview;  // Preview: n (bytes sent before a 100 Continue)
  bool allow_204 = true;          // Allow: 204 (outside the preview too)
};

std::string write_options_request(const config::IcapUrl& url);

// The ICAP head with the encapsulated HTTP head(s), up to where the body's
// chunks start. nullopt when a field of the HTTP message holds CR, LF or NUL
// (it would break ICAP framing; the engines never let one through).
std::optional<std::string> write_scan_head(const config::IcapUrl& url, const ScanMessage& m,
                                           const ScanHeadOptions& options);

// The HTTP/1.1 heads as encapsulated (and as c-icap logs them): a request in
// absolute form ("GET https://host/path HTTP/1.1") with a Host field.
std::string write_http_request_head(const http::RequestHead& r);
std::string write_http_response_head(const http::ResponseHead& r);

// Chunk framing: "<hex size>\r\n" before `size` bytes, "\r\n" after them.
std::string chunk_size_line(size_t size);
inline constexpr std::string_view kChunkDataEnd = "\r\n";
// The zero chunk that ends a body; `ieof` says the preview holds all of it.
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";
inline constexpr std::string_view kLastChunkIeof = "0; ieof\r\n\r\n";

}  // namespace tlsgate::icap
