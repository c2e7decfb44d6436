// The `ca` commands of the control socket (DESIGN.md §6, §8), as tlsgatectl
// sends them; each returns the "result" object or throws CaCommandError:
//   ca.list                                   every generation, its state and certificates
//   ca.status                                 per rule: the signing CA's subject and issuer,
//                                             rotation complete; per CA: adoption per client
//   ca.init     {name}                        a new CA, generation 1 active
//   ca.stage    {name}                        a new generation, staged
//   ca.import   {name, cert_pem, key_pem, passphrase?, chain_pem?}
//               {name, cross_pem}             bring your own CA / a cross-certificate
//   ca.activate {name, at?}                   at: seconds since the epoch, UTC
//   ca.retire   {name, generation?, at?}
//   ca.export   {name?, generation?, all?}    {"pem": ...}: certificates only, never keys
// Nothing in a request or answer that holds key material is ever logged.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ca/ca_registry.h"

namespace tlsgate::tls {

// A rule that forges with a CA, and the CA it names ("" = default).
struct RuleCa {
  std::string rule;
  std::string ca;
};

nlohmann::json handle_ca_command(CaRegistry& registry, const nlohmann::json& request,
                                 const std::vector<RuleCa>& rules);

// ca.export without a daemon: from the registry and the root certificates
// in <state_dir>/ca (never a key file); the first CA's layout without a
// registry is "default" 1. Throws CaCommandError / std::runtime_error.
nlohmann::json export_from_state_dir(const std::filesystem::path& state_dir,
                                     const nlohmann::json& request);

// Commands that change the CA state (the daemon logs who asked).
bool is_ca_change(std::string_view command);

// Certificate summary: subject, issuer, sha256, not_before, not_after.
nlohmann::json certificate_json(X509* cert);

}  // namespace tlsgate::tls
