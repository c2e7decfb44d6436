// A tiny HTTP server on 127.0.0.1 for fetch and CRL tests: per path, a
// status and body, or a connection that never answers (to hit timeouts).
// One thread; connections are served one at a time.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"

namespace tlsgate::tls::testing {

class TestHttpServer {
 public:
  struct Route {
    int status = 200;
    std::string body;
    bool stall = false;                    // accept, read the request, never answer
    std::optional<size_t> content_length;  // overrides the real length in the header
    bool omit_content_length = false;

    static Route reply(int status, std::string body) {
      Route r;
      r.status = status;
      r.body = std::move(body);
      return r;
    }
  };

  TestHttpServer();
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url(const std::string& path) const;
  void set(const std::string& path, Route route);
  // Requests seen for `path` so far.
  int requests(const std::string& path) const;
  // The raw request last received (any path).
  std::string last_request() const;

 private:
  void run();
  void serve(UniqueFd client);

  UniqueFd listener_;
  UniqueFd stop_read_;
  UniqueFd stop_write_;
  uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::map<std::string, Route> routes_;
  std::map<std::string, int> counts_;
  std::string last_request_;
  std::vector<UniqueFd> stalled_;
  std::thread thread_;
};

// A port on 127.0.0.1 where nothing listens (connections are refused).
uint16_t closed_port();

}  // namespace tlsgate::tls::testing
