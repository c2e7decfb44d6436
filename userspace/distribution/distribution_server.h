// The CA distribution endpoint's listener (DESIGN.md §6): plain HTTP on the
// LAN, one thread, many clients at once (non-blocking sockets and poll), each
// bounded in size and time so a slow client holds nothing for long.
#pragma once

#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include "ca/ca_registry.h"
#include "common/unique_fd.h"
#include "config/gateway_config.h"

namespace tlsgate::distribution {

class DistributionServer {
 public:
  using Source = std::function<std::vector<tls::PublishedCa>()>;

  // Binds every entry (an interface entry: all its addresses, IPv4 and
  // IPv6, through SO_BINDTODEVICE; an address entry may be bound before it
  // is configured, IP_FREEBIND). Throws std::runtime_error naming the entry.
  DistributionServer(const std::vector<config::DistributionListen>& listen, Source source);
  ~DistributionServer();
  DistributionServer(const DistributionServer&) = delete;
  DistributionServer& operator=(const DistributionServer&) = delete;

  void start();
  void stop();  // idempotent
  // The bound port of each entry (for port 0 in tests).
  std::vector<uint16_t> ports() const;

 private:
  struct Client;
  void run();

  Source source_;
  std::vector<UniqueFd> listeners_;
  UniqueFd stop_fd_;
  std::thread thread_;
};

}  // namespace tlsgate::distribution
