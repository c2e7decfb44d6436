// A small HTTP/1.1 server on a local address for Prometheus to scrape:
// GET /metrics answers with the text `render_metrics` returns; anything else
// is 404 (or 405 for other methods). One connection at a time, each closed
// after its answer, on one thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "common/ip_address.h"
#include "common/unique_fd.h"

namespace tlsgate::metrics {

// The whole HTTP response for one request head ("GET /metrics HTTP/1.1...").
std::string http_response(std::string_view request_head,
                          const std::function<std::string()>& render_metrics);

class MetricsServer {
 public:
  // Binds and listens; throws std::runtime_error naming the address.
  MetricsServer(const Endpoint& listen, std::function<std::string()> render_metrics);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  void start();
  void stop();                             // idempotent
  uint16_t port() const { return port_; }  // the bound port (for listen port 0)

 private:
  void run();
  void serve(int client);

  std::function<std::string()> render_;
  UniqueFd listener_;
  UniqueFd stop_fd_;
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace tlsgate::metrics
