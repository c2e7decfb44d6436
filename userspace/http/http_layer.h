// The active HTTP layer of one inspected flow (DESIGN.md §4a), as the
// connection sees it: decrypted bytes go in, bytes to send and verdicts come
// out through the HttpPort. It picks the protocol engine (protocol_engine.h)
// by ALPN, or by the client's first bytes when the client offered none, and
// runs every request through the flow's filter chain (exchange_run.h; the
// chain's order is terminator/request_filters.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "http/exchange_run.h"
#include "http/http_port.h"
#include "http/protocol_engine.h"

namespace tlsgate::http {

// What becomes of a flow that does not speak HTTP after the handshake.
enum class NonHttpMode : uint8_t { relay, block };

class HttpLayer {
 public:
  // `alpn`: the protocol negotiated with both sides ("" when none). `port`
  // outlives the layer.
  HttpLayer(HttpPort& port, std::string_view alpn, FilterChain chain, NonHttpMode non_http);
  ~HttpLayer();
  HttpLayer(const HttpLayer&) = delete;
  HttpLayer& operator=(const HttpLayer&) = delete;

  void on_bytes(Peer from, std::span<const uint8_t> bytes);
  void on_end_of_stream(Peer from);
  void on_drained(Peer to);
  // The connection ends: open exchanges are reported (before the flow event).
  void on_flow_end();
  // True once the flow is relayed as it is (not HTTP, or an upgraded
  // HTTP/1.1 connection): the connection passes bytes on without the layer.
  bool relaying_raw() const;
  // "http/1.1" | "h2" | "" (not decided, or not HTTP).
  const char* protocol() const;

 private:
  void decide(SniffedProtocol what);

  HttpPort& port_;
  FilterChain chain_;
  NonHttpMode non_http_;
  std::unique_ptr<ProtocolEngine> engine_;
  bool deciding_ = false;    // no ALPN: the client's first bytes choose
  bool not_http_ = false;    // relayed raw (or refused)
  std::string first_bytes_;  // the client's, while deciding
};

}  // namespace tlsgate::http
