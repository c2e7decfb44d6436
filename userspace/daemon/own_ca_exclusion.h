// The gateway's own CAs as the upstream verifier must refuse them (DESIGN.md
// §5, §6): every generation of every CA in the registry, whatever its state
// or origin, its cross-certificates, and the untrusted CA.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "ca/ca_registry.h"
#include "ca/ca_store.h"
#include "validation/gateway_ca_exclusion.h"

namespace tlsgate::daemon {

std::shared_ptr<const tls::GatewayCaExclusion> own_ca_exclusion(const tls::CaRegistry& cas,
                                                                const tls::CaStore& untrusted);

// True for a `ca` event after which the set grows (a generation created or
// imported, a cross-certificate added); state changes keep every certificate.
bool adds_own_ca_certificates(const nlohmann::json& ca_event);

}  // namespace tlsgate::daemon
