#include "memory_port.h"

#include <utility>

namespace tlsgate::http::testing {

MemoryPort::MemoryPort() {
  flow_context.sni = "a.example";
  flow_context.server.port = 443;
  flow_context.protocol = "http/1.1";
  flow_context.rule = "default";
}

void MemoryPort::send(Peer to, std::span<const uint8_t> bytes) {
  out[static_cast<int>(to)].append(bytes.begin(), bytes.end());
  ++sends[static_cast<int>(to)];
}

std::string MemoryPort::take(Peer to) {
  return std::exchange(out[static_cast<int>(to)], {});
}

}  // namespace tlsgate::http::testing
