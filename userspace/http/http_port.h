// What a protocol engine of the HTTP layer (protocol_engine.h) needs from the
// connection it runs on: ways to send plaintext to either peer, to end the
// connection, to pause a peer for backpressure, and to report an exchange.
// The terminator's Connection implements it (connection_http.cc); unit tests
// use an in-memory one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "http/exchange.h"
#include "http/filter.h"

namespace tlsgate::http {

// The two peers of an inspected flow.
enum class Peer : uint8_t { client, upstream };
inline Peer other(Peer p) {
  return p == Peer::client ? Peer::upstream : Peer::client;
}

class HttpPort {
 public:
  virtual ~HttpPort() = default;
  // Queues plaintext toward `to` (encrypted and sent by the connection).
  virtual void send(Peer to, std::span<const uint8_t> bytes) = 0;
  // Plaintext queued toward `to` and not sent yet: an engine that produces
  // more than it consumes (a held body, an h2 session) checks it.
  virtual size_t pending(Peer to) const = 0;
  // Ends the stream toward `to` (TLS close_notify) once what is queued went.
  virtual void end_stream(Peer to) = 0;
  // Ends the whole connection once what is queued went out; `reason` is the
  // flow event's.
  virtual void close_after_flush(std::string reason) = 0;
  // The same, for a flow the gateway refuses (non_http = "block"): the flow
  // event says "block".
  virtual void refuse_flow(std::string reason) = 0;
  // Stops / restarts reading `from` (backpressure, or a filter holding an
  // HTTP/1.1 request). Reading restarts on its own only through resume.
  virtual void pause_reading(Peer from) = 0;
  virtual void resume_reading(Peer from) = 0;
  // One finished exchange: the connection writes the `http` event.
  virtual void emit_exchange(const Exchange& exchange) = 0;
  // A message the gateway refused (400): counted as well as reported.
  virtual void count_bad_request() = 0;
  // HTTP the layer could not follow (relayed all the same, unobserved).
  virtual void count_unparsed() = 0;
  virtual const FlowContext& flow() const = 0;
  // The layer chose the flow's protocol ("http/1.1" | "h2"), by ALPN or by
  // the client's first bytes: flow().protocol says it from now on.
  virtual void set_protocol(std::string protocol) = 0;
};

}  // namespace tlsgate::http
