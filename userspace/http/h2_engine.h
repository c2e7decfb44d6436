// The h2 engine of the active HTTP layer (DESIGN.md §4a, protocol_engine.h):
// h2 terminated on both sides of an inspected flow with nghttp2's session
// API — a server session toward the client, a client session toward the
// upstream — and relayed stream by stream, each exchange through the flow's
// filter chain (exchange_run.h). No sockets here: decrypted bytes come in
// through on_bytes and leave through the HttpPort.
//
// What the client sees is what the upstream sent, hop by hop: flow control
// (a side's window reopens only when the other side took the bytes, so the
// slow side sets the pace and what waits in memory is bounded by the windows
// we advertise), SETTINGS each session negotiates for itself (extended
// CONNECT is offered to the client once the upstream offers it), PING
// answered per hop, GOAWAY passed on gracefully both ways, RST_STREAM passed
// on both ways with its code, trailers, 1xx, and CONNECT / extended CONNECT
// (RFC 8441) streams relayed as tunnels after their headers. A local reply
// (421, a block page) answers only its stream; a held stream waits while the
// others go on.
//
// Memory: an idle connection holds one nghttp2 session (about 25 KiB, most
// of it nghttp2's 16 KiB frame buffer). The session toward the upstream is
// made at the first request; until then the upstream's SETTINGS wait as
// bytes (kMaxEarlyUpstream), read only for an extended CONNECT offer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "http/exchange_run.h"
#include "http/h2_session.h"
#include "http/h2_streams.h"
#include "http/http_port.h"
#include "http/protocol_engine.h"

namespace tlsgate::http {

class H2Engine final : public ProtocolEngine, public ExchangeCallbacks {
 public:
  // The engine stops producing for a peer while this much waits toward it,
  // and goes on at on_drained.
  static constexpr size_t kMaxPending = 64 * 1024;
  // Frames are written to a peer in batches of about this much (one TLS record).
  static constexpr size_t kRecordBatch = 16 * 1024;
  // What we advertise on each side: a stream's window bounds what one stream
  // buffers here, the connection's what all of them buffer together.
  static constexpr int32_t kStreamWindow = 256 * 1024;
  static constexpr int32_t kConnectionWindow = 1024 * 1024;
  static constexpr uint32_t kMaxConcurrentStreams = 100;
  // The upstream session is made at the first request: until then what the
  // upstream sends (its SETTINGS) waits here, up to this much.
  static constexpr size_t kMaxEarlyUpstream = 4096;
  // The HPACK dynamic table each session keeps for what it sends (the
  // protocol's default is 4096; what it receives keeps that default).
  static constexpr uint32_t kHeaderTableSize = 1024;

  // `port` and `chain` outlive the engine.
  H2Engine(HttpPort& port, const FilterChain& chain);
  ~H2Engine() override;
  H2Engine(const H2Engine&) = delete;
  H2Engine& operator=(const H2Engine&) = delete;

  // ProtocolEngine
  void on_bytes(Peer from, std::span<const uint8_t> bytes) override;
  void on_end_of_stream(Peer from) override;
  void on_drained(Peer to) override;
  void on_flow_end() override;
  bool relaying_raw() const override { return false; }
  const char* protocol() const override { return "h2"; }

  // ExchangeCallbacks
  void pass_request(ExchangeRun& run, const PassedMessage& message) override;
  void pass_response(ExchangeRun& run, const PassedMessage& message) override;
  void reply(ExchangeRun& run, const LocalReply& reply) override;

  // Nothing more will happen on either session (the port was told to close).
  bool finished() const;
  size_t open_streams() const { return streams_.size(); }
  // The client session toward the upstream exists (made at the first request).
  bool upstream_session_open() const { return upstream_session_ != nullptr; }

 private:
  friend struct H2ClientSide;
  friend struct H2ClientCallbacks;
  friend struct H2UpstreamSide;
  friend struct H2UpstreamCallbacks;

  // From the sessions' callbacks to the exchange (h2_exchange_steps.cc).
  void request_head_done(H2Stream& s, bool end_stream);
  void request_data(H2Stream& s, std::span<const uint8_t> bytes);
  void request_ended(H2Stream& s);
  void response_head_done(H2Stream& s, bool end_stream);
  void response_data(H2Stream& s, std::span<const uint8_t> bytes);
  void response_ended(H2Stream& s);
  void send_request_upstream(H2Stream& s, const RequestHead& head);
  void send_response_to_client(H2Stream& s, const ResponseHead& head);

  // Relay plumbing (h2_engine.cc).
  void early_upstream_bytes(std::span<const uint8_t> bytes);
  bool open_upstream();
  bool receive(Peer from, std::span<const uint8_t> bytes);
  void consume(Peer from, int32_t stream_id, size_t n);
  void owe(Peer from, H2Stream& s, size_t n);
  void pay_owed();
  void wake_client_data(H2Stream& s);
  void wake_upstream_data(H2Stream& s);
  void reset_client(H2Stream& s, uint32_t code);
  void reset_upstream(H2Stream& s, uint32_t code);
  void maybe_retire(H2Stream& s);
  void retire(int32_t client_id, ExchangeEnd end);
  void flush();
  nghttp2_session* session(Peer p) const {
    return p == Peer::client ? client_session_.get() : upstream_session_.get();
  }

  HttpPort& port_;
  const FilterChain& chain_;
  H2SessionPtr client_session_;    // nghttp2 server toward the client
  H2SessionPtr upstream_session_;  // nghttp2 client toward the upstream, from the first request
  std::vector<uint8_t> early_upstream_;  // what the upstream sent before that
  H2Streams streams_;
  std::vector<int32_t> owing_;             // streams with bytes held by their run and not consumed
  bool connect_protocol_offered_ = false;  // SETTINGS_ENABLE_CONNECT_PROTOCOL sent to the client
  bool broken_ = false;                    // a peer broke the protocol: nothing more is read
  bool client_gone_ = false;               // the client closed its connection
  bool client_goaway_ = false;             // the client sent GOAWAY
  bool upstream_gone_ = false;             // the upstream closed its connection
  bool closing_ = false;                   // the port was told to close
  int depth_ = 0;                          // inside a session call: flush later
};

}  // namespace tlsgate::http
