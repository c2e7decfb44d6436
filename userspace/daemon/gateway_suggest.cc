// GatewayControl, the bypass suggestions part (DESIGN.md §7):
//   suggest.list     the suggestions and the automatic scoped bypasses;
//   suggest.accept   a suggestion becomes a bypass rule, written to the config
//                    file like `tlsgatectl bypass add` (first position):
//                      client_reject        client = <device group>, sni = <name>
//                      upstream_validation  dst = <the addresses it failed on>
//                    (a bypass by name is honoured only once a probe validated
//                    the server, which a failing server never passes: its
//                    addresses are what can be bypassed);
//   suggest.dismiss  a suggestion leaves the listing (it comes back if the
//                    failures go on).
// Accepted or dismissed, a suggestion's automatic bypass ends with it.
#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "config/config_file_writer.h"
#include "config/config_loader.h"
#include "config/rule_editor.h"
#include "daemon/gateway_control.h"

namespace tlsgate::daemon {

namespace {

using nlohmann::json;

config::RuleSpec bypass_rule_for(const suggest::Candidate& c) {
  config::RuleSpec spec;
  spec.name = "suggested-" + c.id;
  spec.action = "bypass";
  if (c.key.kind == suggest::CandidateKind::client_reject) {
    spec.sni = {c.key.sni};
    spec.client = {c.key.device.to_string()};
    return spec;
  }
  for (const auto& server : c.servers) {
    const std::string address = server.address.to_string();
    if (std::find(spec.dst.begin(), spec.dst.end(), address) == spec.dst.end()) {
      spec.dst.push_back(address);
    }
  }
  return spec;
}

std::string requester(const control::PeerCredentials& peer) {
  return "uid " + std::to_string(peer.uid) + " (pid " + std::to_string(peer.pid) + ")";
}

}  // namespace

json GatewayControl::suggest(const json& request, const control::PeerCredentials& peer) {
  const std::string command = request["command"].get<std::string>();
  suggest::BypassAdvisor& advisor = gateway_.advisor();
  const auto now = suggest::Clock::now();
  if (command == "suggest.list") return advisor.listing(now);
  if (command != "suggest.accept" && command != "suggest.dismiss") {
    throw std::invalid_argument("unknown command '" + command + "'");
  }
  if (!request.contains("id") || !request["id"].is_string()) {
    throw std::invalid_argument(command + " needs the suggestion's \"id\"");
  }
  const std::string id = request["id"].get<std::string>();
  const auto candidate = advisor.suggestion(id, now);
  if (!candidate) {
    throw config::RuleEditError("no suggestion '" + id + "' (tlsgatectl suggest lists them)");
  }
  if (command == "suggest.dismiss") {
    advisor.forget(id, "dismissed", now);
    std::fprintf(stderr, "tlsgated: suggestion %s dismissed by %s\n", id.c_str(),
                 requester(peer).c_str());
    return {{"dismissed", id}};
  }
  const config::RuleSpec spec = bypass_rule_for(*candidate);
  std::lock_guard lock(mu_);
  const auto& path = gateway_.config_path();
  const std::string original = config::read_config_text(path);
  const auto edited = config::add_rule(original, path.string(), spec, 1);
  commit(original, edited.text);
  advisor.forget(id, "accepted", now);
  std::fprintf(stderr, "tlsgated: suggestion %s accepted by %s: rule '%s' added\n", id.c_str(),
               requester(peer).c_str(), spec.name.c_str());
  return {{"accepted", id},
          {"rule", spec.name},
          {"position", 1},
          {"sni", spec.sni},
          {"client", spec.client},
          {"dst", spec.dst},
          {"rules", edited.config.rules.rules.size()}};
}

}  // namespace tlsgate::daemon
