// Passive HTTP observation of an inspected flow (DESIGN.md §7, `http` events).
// The terminator hands each direction's plaintext to a ProtocolObserver as it
// relays it; the observer reads the bytes in place (no copy of bodies, no
// effect on the relay) and reports one Exchange per request and response.
// Anything it cannot follow makes it stop for the rest of the connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlsgate::http {

// Which way plaintext goes: requests travel to the server.
enum class Direction : uint8_t { to_server, to_client };

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

using ExchangeSink = std::function<void(const Exchange&)>;

// Why an observer stopped.
enum class ObserverStop : uint8_t {
  observing,   // it has not
  switched,    // the connection left HTTP (upgrade, tunnel)
  not_http,    // no ALPN, and the first bytes are not an HTTP/1 request
  malformed,   // a message it could not parse
  over_limit,  // a head, the pipeline or the stream table passed its bound
};
const char* to_string(ObserverStop s);

class ProtocolObserver {
 public:
  virtual ~ProtocolObserver() = default;
  // Reads `bytes`, which went `d`; calls the sink for each exchange that
  // ends. Does nothing once stopped.
  virtual void observe(Direction d, std::span<const uint8_t> bytes) = 0;
  // That direction ended (FIN or close_notify): a body read to the end of
  // the connection is complete.
  virtual void end_of_stream(Direction d) = 0;
  // The connection ends: what is still open is reported as incomplete.
  virtual void finish() = 0;
  virtual const char* protocol() const = 0;  // "http/1.1" | "h2"
  ObserverStop stop() const { return stop_; }

 protected:
  ObserverStop stop_ = ObserverStop::observing;
};

// The passive observer of h2 (HTTP/1.1 is read by the h1 engine,
// h1_engine.h); any other ALPN is an invalid_argument.
std::unique_ptr<ProtocolObserver> make_observer(std::string_view alpn, ExchangeSink sink);

// Copies `from` into `to`, cut at `cap` bytes; true when it was cut.
bool capture(std::string& to, std::string_view from, size_t cap);

}  // namespace tlsgate::http
