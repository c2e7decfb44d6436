// The `http` event (DESIGN.md §7): one exchange of an inspected flow, with
// the flow it belongs to (the same client and server as its `flow` event).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "http/exchange.h"

namespace tlsgate::http {

struct HttpEvent {
  std::string client;  // "10.0.0.5:51234"
  std::string server;  // original destination, "192.0.2.1:443"
  std::optional<std::string> sni;
  std::string protocol;  // "http/1.1" | "h2"
  Exchange exchange;
};

// Fields: client, server, sni, protocol, method, host, path (path_truncated
// when cut), status, request_bytes, response_bytes, stream (h2), outcome
// (the end of the exchange, or what the gateway did: bad_request,
// misdirected, ...), detail (by what), and the notes filters added.
nlohmann::json to_json(const HttpEvent& e);

}  // namespace tlsgate::http
