// One exchange of an inspected flow as the HTTP layer reports it (DESIGN.md
// §7, `http` events): a request, its response, and how it ended.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlsgate::http {

enum class ExchangeEnd : uint8_t {
  complete,    // request and response both ended
  reset,       // h2: RST_STREAM before both ended
  upgrade,     // 101 Switching Protocols or a CONNECT tunnel: what follows is not HTTP
  incomplete,  // the connection ended first
};
const char* to_string(ExchangeEnd e);

// Fields from the network are kept up to these sizes (memory per flow is bounded).
inline constexpr size_t kMaxMethod = 32;
inline constexpr size_t kMaxHost = 256;
inline constexpr size_t kMaxPath = 512;  // the query string is kept, within this

// One request and its response.
struct Exchange {
  std::string method;
  std::string host;  // Host / :authority; "" when the request named none
  std::string path;  // the request target, query included
  bool path_truncated = false;
  std::optional<int> status;  // the final status; none when no response came
  // Message body bytes: h1 chunk framing, h2 padding and all headers excluded.
  uint64_t request_bytes = 0;
  uint64_t response_bytes = 0;
  uint32_t stream_id = 0;  // h2 only
  ExchangeEnd end = ExchangeEnd::complete;
  // What the gateway did, when it did more than relay ("bad_request",
  // "misdirected", "blocked", ...): the event's outcome instead of `end`.
  std::string outcome;
  std::string detail;  // by what: "rule:<name>", "list:<name>", ...
  // Fields filters added (FilterExchange::note).
  std::vector<std::pair<std::string, std::string>> notes;
};

// Copies `from` into `to`, cut at `cap` bytes; true when it was cut.
bool capture(std::string& to, std::string_view from, size_t cap);

}  // namespace tlsgate::http
