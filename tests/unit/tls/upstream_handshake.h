// One upstream connection as the terminator makes it: a client SSL from the
// verifier's context, prepared for `host`, against an in-memory test server.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tls/openssl_handles.h"
#include "validation/upstream_verifier.h"

namespace tlsgate::tls::testing {

// What a test server presents.
struct ServerIdentity {
  X509Ptr leaf;
  EvpPkeyPtr key;
  std::vector<X509Ptr> chain;  // sent after the leaf, in this order
};

struct UpstreamOutcome {
  bool completed = false;                   // both sides finished the handshake
  bool server_completed = false;            // false: the server never got our Finished
  std::optional<VerifyFailure> recorded;    // what the verify callback wrote
  std::optional<VerifyFailure> classified;  // classify_handshake_error()
  PeerCertSummary peer;
  std::string sni_seen;  // by the server, "" when none
  int version = 0;       // negotiated, when completed
  std::string cipher;
};

SslCtxPtr make_server_ctx(const ServerIdentity& server);

// `tolerance`: as UpstreamVerifier::prepare.
UpstreamOutcome connect_upstream(SSL_CTX* client_ctx, SSL_CTX* server_ctx, const std::string& host,
                                 bool host_is_sni = true,
                                 const FailureTolerance* tolerance = nullptr);

}  // namespace tlsgate::tls::testing
