// HTTP messages as the active HTTP layer (DESIGN.md §4a) and its filters see
// them, whatever the protocol: HTTP/1.1 heads and h2 HEADERS both become a
// RequestHead / ResponseHead. Bodies are not part of a head.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlsgate::http {

struct HeaderField {
  std::string name;  // as sent (h2: lower case; HTTP/1.1: the sender's case)
  std::string value;
  bool operator==(const HeaderField&) const = default;
};
using HeaderList = std::vector<HeaderField>;

// The first field named `name` (ASCII case-insensitive), if any.
std::optional<std::string_view> find_header(const HeaderList& headers, std::string_view name);

struct RequestHead {
  std::string method;
  std::string scheme;     // h2 :scheme; "https" for HTTP/1.1 on an inspected flow
  std::string authority;  // HTTP/1.1 Host, h2 :authority (or Host when it has none)
  std::string path;       // the request target: origin-form with the query; "*"; or
                          // authority-form for CONNECT
  std::string protocol;   // h2 extended CONNECT :protocol (RFC 8441), "" otherwise
  HeaderList headers;     // the other fields, pseudo-headers excluded
};

struct ResponseHead {
  int status = 0;
  HeaderList headers;  // pseudo-headers excluded
};

// An answer the gateway gives in place of the upstream's (a 400, a 421, a
// block page). The HTTP layer adds the framing fields (Content-Length,
// Connection / END_STREAM); `headers` carries the rest (Content-Type, ...).
struct LocalReply {
  int status = 0;
  HeaderList headers;
  std::string body;
  // For the `http` event: what happened ("misdirected", "blocked", "threat",
  // "infected", "bad_request", ...) and by what ("rule:<name>", "list:<name>",
  // "icap:<service>", ...).
  std::string outcome;
  std::string detail;
  // HTTP/1.1: close the connection after the reply (always for a 400 and a
  // 421). h2 replies end only their stream.
  bool close_connection = false;
};

}  // namespace tlsgate::http
