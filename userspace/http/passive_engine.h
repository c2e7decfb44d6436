// An engine that relays a protocol's bytes as they are and reports its
// exchanges with the passive observer (exchange.h): no filter sees them.
// It stands in for a protocol whose active engine is not there yet (h2 until
// h2_engine lands); the active engine replaces it in make_*_engine.
#pragma once

#include <memory>

#include "http/exchange.h"
#include "http/protocol_engine.h"

namespace tlsgate::http {

class PassiveEngine final : public ProtocolEngine {
 public:
  // `observer` reports to `port` (see make_passive_engine).
  PassiveEngine(HttpPort& port, std::unique_ptr<ProtocolObserver> observer);

  void on_bytes(Peer from, std::span<const uint8_t> bytes) override;
  void on_end_of_stream(Peer from) override;
  void on_flow_end() override;
  bool relaying_raw() const override { return false; }
  const char* protocol() const override { return protocol_; }

 private:
  void observer_failed();

  HttpPort& port_;
  std::unique_ptr<ProtocolObserver> observer_;  // null once it stopped
  const char* protocol_;
};

// The passive engine for `alpn` ("h2", or "" / "http/1.1" for HTTP/1).
std::unique_ptr<ProtocolEngine> make_passive_engine(HttpPort& port, std::string_view alpn);

}  // namespace tlsgate::http
