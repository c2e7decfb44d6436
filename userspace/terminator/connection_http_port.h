// The HTTP layer's view of an inspected connection (http/http_port.h): what
// the layer sends is written to the peer's TLS session and queued; pauses
// stop reading that peer's TLS; finished exchanges become `http` events.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "http/http_port.h"

namespace tlsgate::terminator {

class Connection;
enum class Side : uint8_t;

class ConnectionHttpPort final : public http::HttpPort {
 public:
  ConnectionHttpPort(Connection& connection, http::FlowContext flow);

  void send(http::Peer to, std::span<const uint8_t> bytes) override;
  size_t pending(http::Peer to) const override;
  void end_stream(http::Peer to) override;
  void close_after_flush(std::string reason) override;
  void refuse_flow(std::string reason) override;
  void pause_reading(http::Peer from) override;
  void resume_reading(http::Peer from) override;
  void emit_exchange(const http::Exchange& exchange) override;
  void count_bad_request() override;
  void count_unparsed() override;
  const http::FlowContext& flow() const override { return flow_; }
  void set_protocol(std::string protocol) override { flow_.protocol = std::move(protocol); }

  bool paused(http::Peer from) const { return paused_[static_cast<int>(from)]; }
  // While the connection is inside the layer, sends wait until it leaves
  // (then both sides are flushed) and resumes for its return (the layer is
  // never entered twice at once).
  void enter() { ++depth_; }
  void leave();

 private:
  Connection& c_;
  http::FlowContext flow_;
  bool paused_[2] = {false, false};
  bool resume_due_[2] = {false, false};
  unsigned depth_ = 0;
};

}  // namespace tlsgate::terminator
