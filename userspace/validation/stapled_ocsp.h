// Checks the OCSP response an upstream stapled (DESIGN.md §5, case 12):
// revoked → block. Absent staple: accepted (no OCSP fetching, as browsers),
// unless the leaf demands one (RFC 7633 TLS Feature status_request, "OCSP
// must-staple"): then `revocation_unknown`, as Firefox refuses it.
// Internal to validation/.
#pragma once

#include <openssl/ssl.h>

#include <optional>

#include "validation/upstream_verifier.h"

namespace tlsgate::tls {

// Call from the client's status callback, after the chain was verified.
// nullopt: a valid staple that does not say "revoked", or no staple for a
// leaf that does not require one.
std::optional<VerifyFailure> stapled_ocsp_failure(SSL* ssl);

// True when `cert` carries the TLS Feature extension listing status_request
// (or a TLS Feature extension that cannot be read).
bool requires_stapled_ocsp(X509* cert);

}  // namespace tlsgate::tls
