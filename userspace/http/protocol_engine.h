// The protocol engines of the HTTP layer (DESIGN.md §4a): one per inspected
// flow, HTTP/1.1 or h2, driven by the connection through HttpLayer
// (http_layer.h) with the decrypted bytes of each side, answering through its
// HttpPort (http_port.h).
//
// How an engine uses the chain runner (exchange_run.h), whatever the protocol:
//  1. For each request it parses, it makes an ExchangeRun
//     (ExchangeRun::make(port, chain, *this, stream_id)) and keeps the
//     shared_ptr for as long as the exchange lives; it calls
//     run->start_request(head), then run->request_body(bytes, end) with the
//     body's payload as it arrives (framing removed; a body-less request
//     gives empty bytes and end = true at once).
//  2. The run answers through ExchangeCallbacks, possibly at once (inside
//     start_request / request_body) or later (a filter resumed):
//       pass_request  — send the head (run->request()) upstream, then the
//                       held body bytes; from then on request_body answers
//                       `forward` and the engine sends the bytes itself;
//       reply         — answer the client with the LocalReply (the engine
//                       adds the framing); nothing goes upstream.
//     While run->request_waiting() the engine reads no more of that message
//     (HTTP/1.1: port.pause_reading(Peer::client); h2: no WINDOW_UPDATE for
//     that stream) and resumes in the callback that unblocks it.
//  3. The response likewise: run->start_response(head), response_body(...),
//     pass_response / reply.
//  4. run->end(how) exactly when the exchange is over (both messages done,
//     a stream reset, an upgrade, the flow ending): the run tells the filters
//     and emits the `http` event. Calling it twice is harmless.
// A message refused as malformed before any filter saw it (HTTP/1.1 400, an
// h2 stream error) is reported with port.emit_exchange directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "http/exchange_run.h"
#include "http/http_port.h"

namespace tlsgate::http {

class ProtocolEngine {
 public:
  virtual ~ProtocolEngine() = default;
  // Decrypted bytes from `from`, in order.
  virtual void on_bytes(Peer from, std::span<const uint8_t> bytes) = 0;
  // `from` will send nothing more (close_notify or FIN).
  virtual void on_end_of_stream(Peer from) = 0;
  // What was queued toward `to` went out (below the port's low water): an
  // engine that paused a peer for that backlog may resume it.
  virtual void on_drained(Peer to) { (void)to; }
  // The connection ends: open exchanges end as incomplete (their events are
  // written before the flow's).
  virtual void on_flow_end() = 0;
  // True once the flow left HTTP (a 101 or CONNECT tunnel over HTTP/1.1): the
  // engine has passed on everything it had buffered, and the connection
  // relays bytes as they are from now on without calling on_bytes.
  virtual bool relaying_raw() const = 0;
  virtual const char* protocol() const = 0;  // "http/1.1" | "h2"
};

// What the first bytes of a flow are, when the client offered no ALPN (or
// one the gateway does not speak as HTTP).
enum class SniffedProtocol : uint8_t { need_more, http1, h2, not_http };
SniffedProtocol sniff_protocol(std::span<const uint8_t> first_client_bytes);

enum class EngineKind : uint8_t { http1, h2 };

// The engine for a flow whose protocol is known. `chain` and `port` outlive it.
std::unique_ptr<ProtocolEngine> make_engine(EngineKind kind, HttpPort& port,
                                            const FilterChain& chain);

// Each engine's own maker (h1_engine.cc, h2_engine.cc).
std::unique_ptr<ProtocolEngine> make_h1_engine(HttpPort& port, const FilterChain& chain);
std::unique_ptr<ProtocolEngine> make_h2_engine(HttpPort& port, const FilterChain& chain);

}  // namespace tlsgate::http
