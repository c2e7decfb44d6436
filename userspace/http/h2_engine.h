// The h2 half of the active HTTP layer (DESIGN.md §4a): h2 terminated on
// both sides of an inspected flow with nghttp2's session API — a server
// session toward the client, a client session toward the upstream — and
// relayed stream by stream, each request and response head through the
// flow's filter chain. No sockets here: decrypted bytes come in through the
// on_*_bytes calls and leave through the port.
//
// What the client sees is what the upstream sent, hop by hop: flow control
// (a side's window reopens only when the other side took the bytes, so the
// slow side sets the pace and what waits in memory is bounded by the
// windows we advertise), SETTINGS each session negotiates for itself (the
// upstream's stream limit and extended CONNECT are mirrored to the client),
// PING answered per hop, GOAWAY passed on gracefully both ways, RST_STREAM
// passed on both ways with its code, trailers, 1xx, and CONNECT / extended
// CONNECT (RFC 8441) streams relayed as tunnels after their headers.
// A filter's local reply (421, a block page) answers only its stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/exchange.h"
#include "http/filter.h"
#include "http/h2_session.h"
#include "http/h2_streams.h"

namespace tlsgate::http {

// What the engine needs from the connection it serves.
class H2Port {
 public:
  virtual ~H2Port() = default;
  virtual void send_to_client(std::span<const uint8_t> bytes) = 0;
  virtual void send_to_upstream(std::span<const uint8_t> bytes) = 0;
  // Bytes handed over and not yet written to that socket: the engine stops
  // producing for a side while its backlog is above kMaxBacklog, and goes on
  // at the next output_drained().
  virtual size_t client_backlog() const = 0;
  virtual size_t upstream_backlog() const = 0;
  // One stream ended: its exchange, and what the gateway did to it ("" when
  // the upstream answered; else the local reply's outcome and detail).
  virtual void exchange_done(const Exchange& exchange, std::string_view outcome,
                             std::string_view detail) = 0;
};

class H2Engine {
 public:
  static constexpr size_t kMaxBacklog = 64 * 1024;
  // What we advertise on each side: a stream's window bounds what one stream
  // buffers here, the connection's what all of them buffer together.
  static constexpr int32_t kStreamWindow = 256 * 1024;
  static constexpr int32_t kConnectionWindow = 1024 * 1024;
  static constexpr uint32_t kMaxConcurrentStreams = 100;

  H2Engine(H2Port& port, const FlowContext& flow, std::vector<std::unique_ptr<HttpFilter>> filters);
  ~H2Engine();
  H2Engine(const H2Engine&) = delete;
  H2Engine& operator=(const H2Engine&) = delete;

  // Decrypted bytes from a side. false: that side broke the protocol; the
  // engine queued its GOAWAY and the connection should end once flushed.
  bool on_client_bytes(std::span<const uint8_t> bytes);
  bool on_upstream_bytes(std::span<const uint8_t> bytes);
  // That side's peer closed its connection (FIN or close_notify).
  void on_client_end();
  void on_upstream_end();
  // Port backlogs went down: produce more.
  void output_drained();
  // Nothing more will happen on either session: the connection can close
  // once the port's backlogs are written.
  bool finished() const;
  // The connection ends now: every stream still open is reported incomplete.
  void finish();

  // A held filter step's answer (through the stream's H2StreamResumer).
  void resume(int32_t client_id, FilterStep step);
  void replace_request(int32_t client_id, RequestHead head, std::string body);
  void replace_response(int32_t client_id, ResponseHead head, std::string body);

  size_t open_streams() const { return streams_.size(); }

 private:
  friend struct H2ClientSide;
  friend struct H2ClientCallbacks;
  friend struct H2UpstreamSide;
  friend struct H2UpstreamCallbacks;

  // Filter steps and what follows them (h2_filter_steps.cc).
  void run_request_filters(H2Stream& s);
  void run_response_filters(H2Stream& s);
  bool step_result(H2Stream& s, FilterStep& step);
  void send_request_upstream(H2Stream& s);
  void send_response_to_client(H2Stream& s);
  void reply_locally(H2Stream& s, LocalReply reply);

  // Relay plumbing (h2_engine.cc).
  void wake_client_data(H2Stream& s);
  void wake_upstream_data(H2Stream& s);
  void reset_client(H2Stream& s, uint32_t code);
  void reset_upstream(H2Stream& s, uint32_t code);
  void maybe_retire(H2Stream& s);
  void retire(int32_t client_id, ExchangeEnd end);
  void flush();
  bool feed(nghttp2_session* session, std::span<const uint8_t> bytes);

  H2Port& port_;
  const FlowContext& flow_;
  std::vector<std::unique_ptr<HttpFilter>> filters_;
  H2SessionPtr client_session_;    // nghttp2 server toward the client
  H2SessionPtr upstream_session_;  // nghttp2 client toward the upstream
  H2Streams streams_;
  bool connect_protocol_offered_ = false;  // SETTINGS_ENABLE_CONNECT_PROTOCOL sent to the client
  bool broken_ = false;                    // a fatal session error: nothing more to do
  bool client_gone_ = false;               // the client closed its connection
  bool upstream_gone_ = false;             // the upstream closed its connection
  int depth_ = 0;                          // inside a session call: flush later
};

}  // namespace tlsgate::http
