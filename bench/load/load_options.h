// What one run of bench_tls_load does (bench/load/tls_load_main.cc parses
// the command line into this).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tlsgate::bench {

enum class LoadMode {
  connect,  // new connections: connect, full handshake, one GET, close; repeat
  bulk,     // long connections, each GETs `path` again and again (keep-alive)
  hold,     // open `concurrency` connections (handshake + one GET), keep them idle
};

struct LoadOptions {
  LoadMode mode = LoadMode::connect;
  sockaddr_storage target{};
  socklen_t target_len = 0;
  // SNI and Host of each new connection, taken in turn; with `names_once`
  // every name is used once and the run ends when none is left.
  std::vector<std::string> names;
  bool names_once = false;
  int tls_version = 0;  // TLS1_2_VERSION or TLS1_3_VERSION: min = max
  std::string ca_file;  // the client verifies chain and host name against it
  std::string path = "/";
  unsigned concurrency = 1;  // connections in flight (hold: connections held)
  unsigned threads = 1;
  unsigned hold_parallel = 64;  // hold: handshakes in flight while opening
  double warmup_s = 1.0;
  double duration_s = 5.0;
  double timeout_s = 15.0;  // a connection making no progress this long fails
  // connect: each connection slot offers the session (ticket) its previous
  // connection got, as a browser resuming its connections does.
  bool resume = false;
  // Leave Nagle's algorithm on (the default of many HTTP stacks) instead of
  // TCP_NODELAY.
  bool nagle = false;
  // hold: offer ALPN h2 only and send the GET over HTTP/2 (stream 1).
  bool h2 = false;
};

}  // namespace tlsgate::bench
