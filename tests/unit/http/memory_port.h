// Test support: an HttpPort that keeps what an engine sends, the events it
// reports and the state it asked for, for engine and chain-runner tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "http/http_port.h"

namespace tlsgate::http::testing {

class MemoryPort final : public HttpPort {
 public:
  MemoryPort();

  void send(Peer to, std::span<const uint8_t> bytes) override;
  size_t pending(Peer to) const override { return sent(to).size(); }
  void end_stream(Peer to) override { ended[static_cast<int>(to)] = true; }
  void close_after_flush(std::string reason) override { closed = std::move(reason); }
  void refuse_flow(std::string reason) override { refused = std::move(reason); }
  void pause_reading(Peer from) override { paused[static_cast<int>(from)] = true; }
  void resume_reading(Peer from) override { paused[static_cast<int>(from)] = false; }
  void emit_exchange(const Exchange& exchange) override { exchanges.push_back(exchange); }
  void count_bad_request() override { ++bad_requests; }
  void count_unparsed() override { ++unparsed; }
  const FlowContext& flow() const override { return flow_context; }
  void set_protocol(std::string protocol) override { flow_context.protocol = std::move(protocol); }

  const std::string& sent(Peer to) const { return out[static_cast<int>(to)]; }
  // Takes what was sent toward `to` so far.
  std::string take(Peer to);
  bool is_paused(Peer from) const { return paused[static_cast<int>(from)]; }
  bool has_ended(Peer to) const { return ended[static_cast<int>(to)]; }

  FlowContext flow_context;
  std::string out[2];
  unsigned sends[2] = {0, 0};  // send calls (writes) toward each peer
  bool ended[2] = {false, false};
  bool paused[2] = {false, false};
  std::optional<std::string> closed;
  std::optional<std::string> refused;
  std::vector<Exchange> exchanges;
  unsigned bad_requests = 0;
  unsigned unparsed = 0;
};

inline std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace tlsgate::http::testing
