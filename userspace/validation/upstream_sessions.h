// Upstream TLS session resumption (DESIGN.md §3): an upstream handshake
// costs the gateway a chain parse and verification, a signature check and a
// key exchange; a resumed one only the key exchange (TLS 1.3) or nothing
// (TLS 1.2). Only sessions of upstreams that validated *cleanly* (chain,
// host name, dates, stapled status and the revocation check; no defect
// tolerated by policy) are cached, keyed by (server address:port, host),
// for at most `max_age`: a resumed session stands for that validation, as in
// browsers. A resumed session carries the validated peer certificate, so
// the forged-certificate cache key (its SHA-256) stays the same.
//
// The cache hangs off the upstream SSL_CTX (attach_upstream_session_cache);
// the terminator only names each SSL's key and says when it validated.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace tlsgate::tls {

struct UpstreamSessionSettings {
  size_t capacity = 4096;             // (address, host) pairs remembered
  std::chrono::seconds max_age{300};  // from the full handshake's validation
};

// Client-side session caching on `ctx` into a cache it owns (freed with the
// ctx; a cache attached before is replaced). Call before any SSL is made
// from it.
void attach_upstream_session_cache(SSL_CTX* ctx, UpstreamSessionSettings settings = {});

// Before the handshake: names this SSL's upstream and offers the cached
// session for it, if any is fresh. `server`: "address:port"; `host`: the SNI,
// or the address itself without SNI. No-op when `ssl`'s ctx has no cache.
void offer_upstream_session(SSL* ssl, std::string_view server, std::string_view host);

// The upstream validated cleanly: its session (TLS 1.2), and the tickets it
// sends from now on (TLS 1.3), may be resumed by later connections.
void upstream_session_validated(SSL* ssl);

// Sessions currently cached on `ctx` (0 without a cache); for tests.
size_t upstream_sessions_cached(SSL_CTX* ctx);

}  // namespace tlsgate::tls
