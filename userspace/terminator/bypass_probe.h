// Bypass integrity (DESIGN.md §2): a bypass granted by *name* is honoured
// only for a destination that genuinely serves that name; otherwise a client
// could claim "bank.example" toward its own server and tunnel through
// uninspected. The proof is an active probe: the gateway's own TLS connection
// to that address and port with that SNI, validated by the UpstreamVerifier
// exactly like an inspected upstream. Results are cached per (address, port,
// name) for a while, so a busy bank costs one probe per TTL.
//
// Probes run off the data path on a few threads with blocking sockets and a
// deadline; the result reaches the waiting connection through its worker's
// mailbox. Several connections waiting for the same (address, name) share
// one probe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "common/ip_address.h"
#include "tls/openssl_handles.h"

namespace tlsgate::terminator {

struct ProbeResult {
  bool verified = false;
  std::string detail;  // why not ("connect: ...", "expired: ...", ...), or "verified"
};

struct BypassProberSettings {
  // The whole probe (connect + handshake) ends by then: it stays within a
  // client's handshake timeout.
  std::chrono::milliseconds timeout{5000};
  std::chrono::seconds verified_ttl{600};
  std::chrono::seconds failed_ttl{60};
  unsigned threads = 2;
  size_t max_cache = 65536;
};

class BypassProber {
 public:
  // `upstream_ctx`: the terminator's upstream context (the verifier's trust,
  // protocol and cipher settings).
  BypassProber(SSL_CTX* upstream_ctx, BypassProberSettings settings);
  ~BypassProber();  // stops and joins; pending callbacks are dropped
  BypassProber(const BypassProber&) = delete;
  BypassProber& operator=(const BypassProber&) = delete;

  using Callback = std::function<void(const ProbeResult&)>;
  // Any thread. A cached result is returned at once (the callback is not
  // kept); otherwise nullopt, and `done` runs later on a prober thread.
  std::optional<ProbeResult> lookup_or_probe(const Endpoint& server, const std::string& sni,
                                             Callback done);

  uint64_t probes_run() const;

 private:
  using Key = std::tuple<IpAddress, uint16_t, std::string>;
  struct Cached {
    ProbeResult result;
    std::chrono::steady_clock::time_point expires;
  };

  void run();
  ProbeResult probe(const Endpoint& server, const std::string& sni) const;

  SSL_CTX* ctx_;
  BypassProberSettings settings_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::map<Key, Cached> cache_;
  std::map<Key, std::vector<Callback>> waiting_;
  std::deque<Key> queue_;
  uint64_t probes_run_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace tlsgate::terminator
