// What every worker shares: settings, the current rules (replaced atomically
// on reload), the TLS contexts built once, the CAs and the forged cache, the event
// log, and counters. Read-mostly; nothing here is locked on the data path
// except the forged-certificate cache shard on a miss.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include "ca/ca_registry.h"
#include "capture/capture_writer.h"
#include "config/gateway_config.h"
#include "events/event_log.h"
#include "forging/forged_cert_cache.h"
#include "forging/leaf_forger.h"
#include "forging/ticket_keys.h"
#include "icap/icap_ring_client.h"
#include "pages/exception_store.h"
#include "pages/exception_token.h"
#include "policy/rule.h"
#include "policy/sni_bypass_set.h"
#include "suggest/bypass_advisor.h"
#include "terminator/client_connection_limit.h"
#include "terminator/kernel_offload.h"
#include "terminator/request_filters.h"
#include "threat/threat_lists.h"
#include "tls/openssl_handles.h"
#include "validation/revocation_checker.h"

namespace tlsgate::terminator {

class BypassProber;

struct TerminatorSettings {
  uint16_t listen_port = 15443;
  unsigned workers = 1;
  size_t max_client_hello = 16384;
  config::NonTlsMode non_tls = config::NonTlsMode::block;
  config::NonHttpMode non_http = config::NonHttpMode::relay;
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds idle_timeout{300000};
  config::RevocationMode revocation = config::RevocationMode::soft_fail;
  std::chrono::milliseconds prompt_exception_ttl{std::chrono::hours(1)};
  unsigned max_connections_per_client = 1024;  // 0: no limit
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
  std::atomic<uint64_t> bypass_probe_failures{0};  // name bypasses inspected instead
  std::atomic<uint64_t> kernel_splices{0};         // bypassed flows relayed by the kernel
  std::atomic<uint64_t> userspace_splices{0};      // bypassed flows copied by the terminator
  std::atomic<uint64_t> client_rejects{0};         // clients that refused our certificate
  std::atomic<uint64_t> auto_bypassed{0};          // flows bypassed by a scoped auto bypass
  std::atomic<uint64_t> auto_bypass_retests{0};    // flows inspected to re-test one
  std::atomic<uint64_t> http_events{0};            // `http` events emitted
  std::atomic<uint64_t> http_unparsed{0};          // inspected flows whose HTTP we gave up on
  std::atomic<uint64_t> http_bad_requests{0};      // malformed HTTP/1 messages answered 400
  std::atomic<uint64_t> non_http_refused{0};       // inspected flows refused as not HTTP
  std::atomic<uint64_t> client_limit_refusals{0};  // accepts past max_connections_per_client
  std::atomic<uint64_t> threat_blocked{0};         // flows whose SNI a threat list blocked

  static void add(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

struct TerminatorContext {
  TerminatorSettings settings;
  std::atomic<std::shared_ptr<const policy::RuleSet>> rules;
  // The threat lists (DESIGN.md §4a), replaced as a whole on reload; never null.
  std::atomic<std::shared_ptr<const threat::ThreatLists>> threat_lists{
      std::make_shared<const threat::ThreatLists>()};
  // Decrypted capture of the flows whose rule asks (issue 15); outlives the
  // SSL contexts below, whose key log callback feeds it.
  capture::CaptureWriter* capture = nullptr;
  tls::SslCtxPtr upstream_ctx;
  // Seal the session tickets of client_facing_ctx (declared first: outlives it).
  std::unique_ptr<tls::TicketKeys> ticket_keys;
  tls::SslCtxPtr client_facing_ctx;
  // The gateway's CAs: which generation signs for a rule and a client
  // (rotation, fallback, adoption: tls/ca_registry.h).
  tls::CaRegistry* cas = nullptr;
  tls::ForgedCertCache* forged_cache = nullptr;
  // Connections per client address, across workers (null: no limit).
  std::unique_ptr<ClientConnectionLimit> client_limit;
  events::EventLog* events = nullptr;
  // Invalid upstreams (DESIGN.md §5): the CA no client trusts (untrusted_ca),
  // CRL checks, and the prompt's continue tokens and granted exceptions.
  const tls::LeafForger* untrusted_forger = nullptr;
  tls::RevocationChecker* revocation = nullptr;  // null: no CRL checks
  const pages::ExceptionToken* exception_tokens = nullptr;
  pages::ExceptionStore* exceptions = nullptr;
  // Kernel side (DESIGN.md §2, §3); null pointers: that part is not used.
  // The compiled bypassed names the kernel checks (sni_policy), replaced
  // together with `rules` on reload: only a name the kernel knows may teach
  // it an address.
  std::atomic<std::shared_ptr<const policy::SniBypassSet>> kernel_names;
  LearnedAddressFeed* learned = nullptr;
  KernelSplice* splice = nullptr;
  // Proves bypasses by name (bypass_probe.h). Null: a name bypass cannot be
  // proven, and such flows are inspected.
  BypassProber* prober = nullptr;
  // Client rejects and validation failures become bypass suggestions, and
  // with auto_bypass scoped bypasses (suggest/bypass_advisor.h). Null: none.
  suggest::BypassAdvisor* advisor = nullptr;
  // The per-request filters of inspected flows (request_filters.cc). Null:
  // requests are relayed unchecked.
  const RequestFilters* request_filters = nullptr;
  // [[icap]] services, resolved at start: each worker keeps a client with
  // its own connections to them on its ring (icap/icap_ring_client.h).
  std::vector<icap::ServiceTarget> icap_services;
};

}  // namespace tlsgate::terminator
