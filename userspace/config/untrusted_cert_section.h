// Reads `untrusted_server_cert` (DESIGN.md §5), in [upstream] and on a
// [[rule]]: either one action for every failure class,
//   untrusted_server_cert = "block"
// or an inline table with per-class actions and an optional default,
//   untrusted_server_cert = { default = "block", expired = "prompt" }
// Keys are failure class names (tls::CertErrorClass); a misspelt class is an
// error with its line, never silently ignored.
#pragma once

#include <optional>

#include "config/section_reader.h"
#include "policy/rule.h"

namespace tlsgate::config {

// nullopt when the key is absent. A table without `default` defaults to
// "block". Classes that fail the handshake itself (bad_protocol,
// no_certificate, client_cert_required) accept only "block".
std::optional<policy::UntrustedCertPolicy> read_untrusted_cert_policy(const SectionReader& r,
                                                                      const std::string& source);

}  // namespace tlsgate::config
