#include "daemon/own_ca_exclusion.h"

#include <string>

namespace tlsgate::daemon {

std::shared_ptr<const tls::GatewayCaExclusion> own_ca_exclusion(const tls::CaRegistry& cas,
                                                                const tls::CaStore& untrusted) {
  auto exclusion = std::make_shared<tls::GatewayCaExclusion>();
  for (const tls::OwnCaCertificate& c : cas.every_certificate()) {
    exclusion->add(c.cert.get(), "gateway CA " + c.ca_id);
  }
  for (X509* cert : untrusted.certificates()) exclusion->add(cert, "the untrusted CA");
  return exclusion;
}

bool adds_own_ca_certificates(const nlohmann::json& ca_event) {
  const std::string step = ca_event.value("step", "");
  return step == "created" || step == "imported" || step == "cross_imported";
}

}  // namespace tlsgate::daemon
