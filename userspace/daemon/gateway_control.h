// What the control socket can ask of a running gateway (DESIGN.md §8):
// status, live flows, counters, rules (list, add, delete), reload. Every
// change of policy goes through here, under one lock, and through the config
// file: a rule edit rewrites the file (config/rule_editor.h) and reloads it,
// so the file always says what runs and SIGHUP, `tlsgatectl reload` and
// rule edits take the same path.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "control/peer_access.h"
#include "daemon/gateway.h"

namespace tlsgate::daemon {

struct ControlCounters {
  std::atomic<uint64_t> reloads{0};
  std::atomic<uint64_t> reloads_refused{0};
  std::atomic<uint64_t> rule_edits{0};
};

class GatewayControl {
 public:
  // `status_changed` is told the new one-line status after every change
  // (main passes it to systemd as STATUS=).
  GatewayControl(Gateway& gateway, std::function<void(const std::string&)> status_changed);

  // The control socket's handler: one request, its whole response.
  nlohmann::json handle(const nlohmann::json& request, const control::PeerCredentials& peer);

  // SIGHUP and "reload": re-reads the config file. Returns "" or why the
  // file was refused (the running configuration then stays).
  std::string reload();

  std::string status_line();
  const ControlCounters& counters() const { return counters_; }

 private:
  nlohmann::json status();
  nlohmann::json flows();
  nlohmann::json icap_status();
  nlohmann::json stats();
  nlohmann::json list_rules();
  // threats: the lists, their entries, load times, malformed lines and hits (gateway_threats.cc)
  nlohmann::json list_threats();
  nlohmann::json add_rule(const nlohmann::json& request, const control::PeerCredentials& peer);
  nlohmann::json delete_rule(const nlohmann::json& request, const control::PeerCredentials& peer);
  // suggest.list, suggest.accept, suggest.dismiss (gateway_suggest.cc)
  nlohmann::json suggest(const nlohmann::json& request, const control::PeerCredentials& peer);
  // Writes `edited` over the config file and reloads it; puts `original`
  // back when the reload fails. Caller holds mu_.
  void commit(const std::string& original, const std::string& edited);
  std::string reload_locked();

  Gateway& gateway_;
  std::function<void(const std::string&)> status_changed_;
  std::mutex mu_;  // one policy change at a time
  ControlCounters counters_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::string last_reload_error_;  // under mu_
  std::string last_reload_time_;   // under mu_; RFC 3339, "" before the first
};

}  // namespace tlsgate::daemon
