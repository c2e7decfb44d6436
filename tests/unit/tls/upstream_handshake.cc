#include "upstream_handshake.h"

#include "in_memory_tls.h"

namespace tlsgate::tls::testing {

SslCtxPtr make_server_ctx(const ServerIdentity& server) {
  std::vector<X509*> chain;
  for (const X509Ptr& c : server.chain) chain.push_back(c.get());
  return make_test_server_ctx(server.leaf.get(), server.key.get(), chain);
}

UpstreamOutcome connect_upstream(SSL_CTX* client_ctx, SSL_CTX* server_ctx, const std::string& host,
                                 bool host_is_sni, const FailureTolerance* tolerance) {
  UpstreamOutcome out;
  std::optional<VerifyFailure> sink;  // outlives the SSLs below
  {
    InMemoryTls tls(client_ctx, server_ctx);
    UpstreamVerifier::prepare(tls.client(), host, host_is_sni, &sink, tolerance);
    out.completed = tls.handshake();
    out.server_completed = tls.server_done();
    out.classified = tls.client_failure();
    out.peer = UpstreamVerifier::summarize_peer(tls.client());
    if (const char* sni = SSL_get_servername(tls.server(), TLSEXT_NAMETYPE_host_name)) {
      out.sni_seen = sni;
    }
    if (out.completed) {
      out.version = SSL_version(tls.client());
      out.cipher = SSL_get_cipher_name(tls.client());
    }
  }
  out.recorded = sink;
  return out;
}

}  // namespace tlsgate::tls::testing
