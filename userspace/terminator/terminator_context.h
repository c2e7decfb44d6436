// What every worker shares: settings, the current rules (replaced atomically
// on reload), the TLS contexts built once, the forger and its cache, the event
// log, and counters. Read-mostly; nothing here is locked on the data path
// except the forged-certificate cache shard on a miss.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include "config/gateway_config.h"
#include "events/event_log.h"
#include "policy/rule.h"
#include "tls/forged_cert_cache.h"
#include "tls/leaf_forger.h"
#include "tls/openssl_handles.h"

namespace tlsgate::terminator {

struct TerminatorSettings {
  uint16_t listen_port = 15443;
  unsigned workers = 1;
  size_t max_client_hello = 16384;
  config::NonTlsMode non_tls = config::NonTlsMode::block;
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds idle_timeout{300000};
};

// Per-worker counters; summed when read. Relaxed atomics: one writer each.
struct TerminatorCounters {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> active{0};
  std::atomic<uint64_t> inspected{0};
  std::atomic<uint64_t> bypassed{0};
  std::atomic<uint64_t> blocked{0};
  std::atomic<uint64_t> bad_client_hello{0};
  std::atomic<uint64_t> non_tls{0};
  std::atomic<uint64_t> handshake_timeouts{0};
  std::atomic<uint64_t> upstream_connect_failures{0};
  std::atomic<uint64_t> upstream_cert_failures{0};
  std::atomic<uint64_t> client_handshake_failures{0};

  static void add(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

struct TerminatorContext {
  TerminatorSettings settings;
  std::atomic<std::shared_ptr<const policy::RuleSet>> rules;
  tls::SslCtxPtr upstream_ctx;
  tls::SslCtxPtr client_facing_ctx;
  const tls::LeafForger* forger = nullptr;
  tls::ForgedCertCache* forged_cache = nullptr;
  events::EventLog* events = nullptr;
};

}  // namespace tlsgate::terminator
