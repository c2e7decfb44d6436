// Checks the OCSP response an upstream stapled (DESIGN.md §5, case 12):
// revoked → block. Absent staple: accepted (no OCSP fetching, as browsers).
// Internal to tls/.
#pragma once

#include <openssl/ssl.h>

#include <optional>

#include "validation/upstream_verifier.h"

namespace tlsgate::tls {

// Call from the client's status callback, after the chain was verified.
// nullopt: no staple, or a valid staple that does not say "revoked".
std::optional<VerifyFailure> stapled_ocsp_failure(SSL* ssl);

}  // namespace tlsgate::tls
