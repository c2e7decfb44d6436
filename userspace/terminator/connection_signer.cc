// Connection, the signing CA part (DESIGN.md §6): the rule's CA signs the
// identities of this flow — or, while that CA rotates, the previous
// generation for a client that rejected the new one — and the client's
// verdict on our certificate goes back to the CA registry's adoption report.
#include "terminator/client_rejection.h"
#include "terminator/connection.h"

namespace tlsgate::terminator {

// Chosen once per flow: the page and the relay identity share one signer.
const tls::LeafForger& Connection::trusted_forger() {
  if (!signer_.ca) signer_ = ctx_.cas->signer_for(client_.address, rules_->ca_for(verdict_));
  return signer_.ca->forger;
}

void Connection::report_client_handshake(bool completed, int ssl_ret, bool eof) {
  if (completed) {
    if (signer_.tracked) ctx_.cas->report_acceptance(client_.address, signer_);
    return;
  }
  auto rejection = classify_client_rejection(client_ssl_.get(), ssl_ret, eof);
  if (!rejection) return;
  if (signer_.tracked) ctx_.cas->report_rejection(client_.address, signer_, rejection->to_string());
  client_rejected(*rejection, /*after_handshake=*/false);  // connection_rejection.cc
}

}  // namespace tlsgate::terminator
