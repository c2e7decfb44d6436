// The bench client's engine: one epoll loop per thread, each driving its
// share of the connections through connect → TLS handshake → HTTP/1.1 GET
// → (close | next GET | idle), with the SSL straight on the socket.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "load/load_options.h"
#include "tls/openssl_handles.h"

namespace tlsgate::bench {

// Shared by every loop thread; the main thread samples it.
struct LoadCounters {
  std::atomic<uint64_t> completed{0};  // connect: connections done; bulk: responses
  std::atomic<uint64_t> body_bytes{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> established{0};  // hold: connections now idle
  std::atomic<uint64_t> dropped{0};      // hold: ended by the other side while held
  std::atomic<size_t> next_name{0};
  std::atomic<bool> no_new{false};        // start no new connection (runs wind down)
  std::atomic<bool> stop{false};          // end the loops now
  std::atomic<unsigned> idle_threads{0};  // loops with nothing left to do (names_once, hold)
  std::atomic<uint64_t> resumed{0};       // handshakes that resumed a session
  std::atomic<bool> sampling{false};      // record first-byte times (the window)

  void record_error(const std::string& what);
  std::map<std::string, uint64_t> errors() const;
  // Time from a connection's first request write to its first response byte.
  void record_first_byte(double ms);
  std::vector<double> first_byte_ms() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, uint64_t> errors_;
  std::vector<double> first_byte_ms_;
};

tls::SslCtxPtr make_client_ctx(const LoadOptions& options);

class LoadLoop {
 public:
  // `slots`: connections this loop keeps in flight (hold: opens).
  LoadLoop(const LoadOptions& options, SSL_CTX* ctx, LoadCounters& counters, unsigned slots);
  ~LoadLoop();
  LoadLoop(const LoadLoop&) = delete;
  LoadLoop& operator=(const LoadLoop&) = delete;

  void run();  // returns once counters.stop is set

 private:
  enum class Phase { free, connecting, handshaking, writing, reading, idle };
  struct Conn {
    Phase phase = Phase::free;
    UniqueFd fd;
    tls::SslPtr ssl;
    std::string name;
    std::string request;
    std::string header;
    bool header_done = false;
    uint64_t body_left = 0;
    std::chrono::steady_clock::time_point last_progress;
    std::chrono::steady_clock::time_point request_sent;
    bool first_byte_seen = false;
    std::unique_ptr<SSL_SESSION, tls::OpenSslDeleter<SSL_SESSION_free>> session;  // resume
  };

  bool open(Conn& c);
  void advance(Conn& c);
  bool read_response(Conn& c);  // true: a whole response arrived
  void response_done(Conn& c);
  // Counts the failure; connect/bulk open a new connection in its place
  // unless `reopen` is false (a failure of open itself).
  void fail(Conn& c, const std::string& why, bool reopen = true);
  void close(Conn& c, bool send_close_notify);
  void expire_stalled();
  bool next_name(std::string& out);
  unsigned busy() const;

  const LoadOptions& options_;
  SSL_CTX* ctx_;
  LoadCounters& counters_;
  UniqueFd epoll_;
  std::vector<Conn> conns_;
  unsigned opened_ = 0;  // hold: connections started so far
  bool reported_idle_ = false;
};

}  // namespace tlsgate::bench
