#include "daemon/gateway_control.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <set>
#include <stdexcept>

#include "ca/ca_control.h"
#include "config/config_file_writer.h"
#include "config/config_loader.h"
#include "config/rule_editor.h"
#include "control/control_protocol.h"
#include "daemon/kernel_counter_names.h"
#include "policy/kernel_rule_compiler.h"

namespace tlsgate::daemon {

namespace {

using nlohmann::json;

constexpr std::chrono::milliseconds kFlowSnapshotWait{2000};

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

template <typename T>
json texts(const std::vector<T>& items) {
  json out = json::array();
  for (const auto& item : items) out.push_back(item.to_string());
  return out;
}

json rule_json(const policy::Rule& rule, size_t index, bool in_kernel) {
  return {{"position", index + 1},
          {"name", rule.name},
          {"action", policy::to_string(rule.action)},
          {"sni", texts(rule.sni)},
          {"dst", texts(rule.dst)},
          {"client", texts(rule.client)},
          {"port", rule.ports},
          {"url", texts(rule.url)},
          {"method", rule.methods},
          {"per_request", rule.has_request_matcher()},
          {"line", rule.source_line},
          {"kernel", in_kernel}};
}

std::vector<std::string> string_list(const json& rule, const char* key) {
  std::vector<std::string> out;
  if (!rule.contains(key)) return out;
  const json& v = rule[key];
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array()) throw std::invalid_argument(std::string("rule '") + key + "' must be a list");
  for (const auto& item : v) {
    if (!item.is_string()) {
      throw std::invalid_argument(std::string("rule '") + key + "' must list strings");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

config::RuleSpec rule_spec(const json& request) {
  if (!request.contains("rule") || !request["rule"].is_object()) {
    throw std::invalid_argument("rules.add needs a \"rule\" object");
  }
  const json& rule = request["rule"];
  for (auto it = rule.begin(); it != rule.end(); ++it) {
    static const std::set<std::string> known = {"name",   "action", "sni", "dst",
                                                "client", "port",   "url", "method"};
    if (!known.contains(it.key()))
      throw std::invalid_argument("unknown rule key '" + it.key() + "'");
  }
  config::RuleSpec spec;
  if (rule.contains("name")) {
    if (!rule["name"].is_string()) throw std::invalid_argument("rule 'name' must be a string");
    spec.name = rule["name"].get<std::string>();
  }
  if (!rule.contains("action") || !rule["action"].is_string()) {
    throw std::invalid_argument("rule 'action' must be \"inspect\", \"bypass\" or \"block\"");
  }
  spec.action = rule["action"].get<std::string>();
  spec.sni = string_list(rule, "sni");
  spec.dst = string_list(rule, "dst");
  spec.client = string_list(rule, "client");
  spec.url = string_list(rule, "url");
  spec.method = string_list(rule, "method");
  if (rule.contains("port")) {
    const json ports = rule["port"].is_array() ? rule["port"] : json::array({rule["port"]});
    for (const auto& p : ports) {
      if (!p.is_number_integer()) throw std::invalid_argument("rule 'port' must list integers");
      spec.port.push_back(p.get<int64_t>());
    }
  }
  return spec;
}

std::string who(const control::PeerCredentials& peer) {
  return "uid " + std::to_string(peer.uid) + " (pid " + std::to_string(peer.pid) + ")";
}

// The rules that forge (inspect), and the default action when it inspects,
// with the CA each names: what `ca status` reports on.
std::vector<tls::RuleCa> forging_rules(const policy::RuleSet& rules) {
  std::vector<tls::RuleCa> out;
  for (const auto& rule : rules.rules) {
    if (rule.action == policy::Action::inspect) out.push_back({rule.name, rule.ca});
  }
  if (rules.default_action == policy::Action::inspect) out.push_back({"default", ""});
  return out;
}

// ca.* (tls/ca_control.h). Changes are logged with who asked; requests
// carry key material, so never the request itself.
json ca_response(Gateway& gateway, const json& request, const control::PeerCredentials& peer) {
  const std::string command = request["command"].get<std::string>();
  try {
    json result = tls::handle_ca_command(gateway.cas(), request, forging_rules(*gateway.rules()));
    if (tls::is_ca_change(command)) {
      std::fprintf(stderr, "tlsgated: %s %s by %s: %s\n", command.c_str(),
                   result.value("id", std::string("?")).c_str(), who(peer).c_str(),
                   result.value("done", std::string("done")).c_str());
    }
    return control::ok_response(std::move(result));
  } catch (const tls::CaCommandError& e) {
    return control::error_response(e.what());
  } catch (const std::exception& e) {
    return control::error_response(command + " failed: " + e.what());
  }
}

}  // namespace

GatewayControl::GatewayControl(Gateway& gateway,
                               std::function<void(const std::string&)> status_changed)
    : gateway_(gateway), status_changed_(std::move(status_changed)) {}

json GatewayControl::handle(const json& request, const control::PeerCredentials& peer) {
  const std::string command = request["command"].get<std::string>();
  try {
    if (command == "status") return control::ok_response(status());
    if (command == "flows") return control::ok_response(flows());
    if (command == "stats") return control::ok_response(stats());
    if (command == "rules.list") return control::ok_response(list_rules());
    if (command == "threats") return control::ok_response(list_threats());
    if (command == "rules.add") return control::ok_response(add_rule(request, peer));
    if (command == "rules.del") return control::ok_response(delete_rule(request, peer));
    if (command.starts_with("ca.")) return ca_response(gateway_, request, peer);
    if (command.starts_with("suggest.")) return control::ok_response(suggest(request, peer));
    if (command == "reload") {
      std::fprintf(stderr, "tlsgated: reload requested by %s\n", who(peer).c_str());
      const std::string error = reload();
      if (!error.empty()) {
        return control::error_response("reload refused, the running configuration stays: " + error);
      }
      return control::ok_response({{"reloaded", true},
                                   {"rules", gateway_.rules()->rules.size()},
                                   {"restart_needed", gateway_.restart_needed()}});
    }
  } catch (const config::RuleEditError& e) {
    return control::error_response(e.what());
  } catch (const std::invalid_argument& e) {
    return control::error_response(std::string("bad request: ") + e.what());
  }
  return control::error_response("unknown command '" + command + "'");
}

std::string GatewayControl::reload() {
  std::lock_guard lock(mu_);
  return reload_locked();
}

std::string GatewayControl::reload_locked() {
  std::string error;
  try {
    error = gateway_.reload();
  } catch (const std::exception& e) {
    error = std::string("applying the new rules failed: ") + e.what();
  }
  last_reload_time_ = utc_now();
  last_reload_error_ = error;
  if (error.empty()) {
    counters_.reloads.fetch_add(1, std::memory_order_relaxed);
    std::fprintf(stderr, "tlsgated: configuration reloaded (%zu rules)\n",
                 gateway_.rules()->rules.size());
    for (const auto& key : gateway_.restart_needed()) {
      std::fprintf(stderr, "tlsgated: %s changed: takes effect at the next restart\n", key.c_str());
    }
  } else {
    counters_.reloads_refused.fetch_add(1, std::memory_order_relaxed);
    std::fprintf(stderr, "tlsgated: reload refused, keeping the running configuration: %s\n",
                 error.c_str());
  }
  if (status_changed_) {
    status_changed_(gateway_.status_line() +
                    (error.empty() ? "" : "; last reload refused: " + error));
  }
  return error;
}

std::string GatewayControl::status_line() {
  std::lock_guard lock(mu_);
  return gateway_.status_line();
}

json GatewayControl::status() {
  std::lock_guard lock(mu_);
  const config::GatewayConfig& c = gateway_.config();
  const auto rules = gateway_.rules();
  const auto counters = gateway_.terminator().counters();
  const auto uptime =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
  std::string kernel_side = "removed";
  try {
    if (gateway_.kernel_counters()) kernel_side = "installed";
  } catch (const std::exception& e) {
    kernel_side = std::string("installed, counters unreadable: ") + e.what();
  }
  json reload_info = nullptr;
  if (!last_reload_time_.empty()) {
    reload_info = {{"time", last_reload_time_}, {"ok", last_reload_error_.empty()}};
    if (!last_reload_error_.empty()) reload_info["error"] = last_reload_error_;
  }
  return {
      {"version", TLSGATE_VERSION},
      {"pid", ::getpid()},
      {"uptime_s", uptime.count()},
      {"status", gateway_.status_line()},
      {"config_file", gateway_.config_path().string()},
      {"lan_interfaces", c.lan_interfaces},
      {"intercept_ports", c.intercept_ports},
      {"listen_port", c.listen_port},
      {"workers", gateway_.terminator().worker_count()},
      {"fail_mode", c.fail_mode == config::FailMode::open ? "open" : "closed"},
      {"rules", rules->rules.size()},
      {"default_action", policy::to_string(rules->default_action)},
      {"kernel_side", kernel_side},
      {"connections_active",
       counters.contains("connections_active") ? counters.at("connections_active") : 0},
      {"paths",
       {{"state_dir", c.state_dir.string()},
        {"event_log", c.event_log.string()},
        {"bpf_pin_dir", c.bpf_pin_dir.string()},
        {"control_socket", c.control_socket.string()}}},
      {"metrics_listen", c.metrics_listen ? c.metrics_listen->to_string() : ""},
      {"event_journal", c.event_journal},
      {"last_reload", reload_info},
      {"icap", icap_status()},
  };
}

// Each [[icap]] service as the workers see it: up, or down since when (and
// for how long), its ISTag and open connections.
json GatewayControl::icap_status() {
  const auto& services = gateway_.config().icap_services;
  json out = json::array();
  if (services.empty()) return out;
  const auto states = gateway_.terminator().icap_states(kFlowSnapshotWait);
  const auto now = std::chrono::steady_clock::now();
  for (size_t i = 0; i < services.size(); ++i) {
    json s = {{"name", services[i].name},
              {"url", services[i].url.to_string()},
              {"method", config::to_string(services[i].method)},
              {"on_error", config::to_string(services[i].on_error)}};
    if (i < states.size()) {
      const icap::ServiceState& st = states[i];
      s["up"] = st.up;
      if (st.down_since) {
        s["down_for_s"] =
            std::chrono::duration_cast<std::chrono::seconds>(now - *st.down_since).count();
      }
      s["istag"] = st.istag;
      s["connections"] = st.gateway_connections;
      s["max_connections"] = st.max_connections;
      s["busy"] = st.busy;
      s["waiting"] = st.waiting;
    }
    out.push_back(std::move(s));
  }
  return out;
}

json GatewayControl::flows() {
  const auto listing = gateway_.terminator().flows(kFlowSnapshotWait);
  json out = json::array();
  for (const auto& f : listing.flows) {
    out.push_back({{"client", f.client.to_string()},
                   {"server", f.server.to_string()},
                   {"state", f.state},
                   {"age_ms", f.age.count()},
                   {"worker", f.worker},
                   {"sni", f.sni},
                   {"action", f.action},
                   {"rule", f.rule},
                   {"bytes_from_client", f.bytes_from_client},
                   {"bytes_from_server", f.bytes_from_server}});
  }
  return {{"flows", out}, {"workers_not_answering", listing.workers_not_answering}};
}

json GatewayControl::stats() {
  json terminator = json::object();
  for (const auto& [name, value] : gateway_.terminator().counters()) terminator[name] = value;
  json kernel = nullptr;
  try {
    if (auto k = gateway_.kernel_counters()) {
      kernel = json::object();
      for (size_t i = 0; i < k->value.size(); ++i) kernel[kernel_counter_name(i)] = k->value[i];
    }
  } catch (const std::exception& e) {
    kernel = {{"error", e.what()}};
  }
  const auto& cache = gateway_.forged_cache();
  return {
      {"terminator", terminator},
      {"kernel", kernel},
      {"forge_cache",
       {{"hits", cache.hits()},
        {"misses", cache.misses()},
        {"entries", cache.size()},
        {"capacity", cache.capacity()}}},
      {"events",
       {{"failed_writes", gateway_.events().failed_writes()},
        {"journal_failures", gateway_.events().journal_failures()}}},
      {"control",
       {{"reloads", counters_.reloads.load()},
        {"reloads_refused", counters_.reloads_refused.load()},
        {"rule_edits", counters_.rule_edits.load()}}},
  };
}

json GatewayControl::list_rules() {
  const auto rules = gateway_.rules();
  const auto compiled = policy::compile_kernel_rules(*rules, gateway_.config().intercept_ports);
  std::vector<bool> in_kernel(rules->rules.size(), false);
  for (const auto* entries : {&compiled.client_bypass, &compiled.dst_bypass}) {
    for (const auto& e : *entries) {
      if (e.rule_index < in_kernel.size()) in_kernel[e.rule_index] = true;
    }
  }
  json list = json::array();
  for (size_t i = 0; i < rules->rules.size(); ++i) {
    list.push_back(rule_json(rules->rules[i], i, in_kernel[i]));
  }
  return {{"default_action", policy::to_string(rules->default_action)},
          {"rules", list},
          {"config_file", gateway_.config_path().string()}};
}

json GatewayControl::add_rule(const json& request, const control::PeerCredentials& peer) {
  const config::RuleSpec spec = rule_spec(request);
  std::optional<size_t> position;
  if (request.contains("position") && !request["position"].is_null()) {
    if (!request["position"].is_number_unsigned() || request["position"].get<size_t>() == 0) {
      throw std::invalid_argument("\"position\" must be a number from 1");
    }
    position = request["position"].get<size_t>();
  }
  std::lock_guard lock(mu_);
  const auto& path = gateway_.config_path();
  const std::string original = config::read_config_text(path);
  const auto edited = config::add_rule(original, path.string(), spec, position);
  commit(original, edited.text);
  size_t at = 0;
  const auto& rules = edited.config.rules.rules;
  while (at < rules.size() && rules[at].name != spec.name) ++at;
  std::fprintf(stderr, "tlsgated: rule '%s' added at position %zu by %s\n", spec.name.c_str(),
               at + 1, who(peer).c_str());
  return {{"added", spec.name}, {"position", at + 1}, {"rules", rules.size()}};
}

json GatewayControl::delete_rule(const json& request, const control::PeerCredentials& peer) {
  if (!request.contains("name") || !request["name"].is_string()) {
    throw std::invalid_argument("rules.del needs the rule's \"name\"");
  }
  const std::string name = request["name"].get<std::string>();
  std::lock_guard lock(mu_);
  const auto& path = gateway_.config_path();
  const std::string original = config::read_config_text(path);
  const auto edited = config::delete_rule(original, path.string(), name);
  commit(original, edited.text);
  std::fprintf(stderr, "tlsgated: rule '%s' deleted by %s\n", name.c_str(), who(peer).c_str());
  return {{"deleted", name}, {"rules", edited.config.rules.rules.size()}};
}

void GatewayControl::commit(const std::string& original, const std::string& edited) {
  try {
    config::replace_config_file(gateway_.config_path(), edited);
  } catch (const std::exception& e) {
    throw config::RuleEditError(std::string("cannot write the configuration, nothing changed: ") +
                                e.what());
  }
  const std::string error = reload_locked();
  if (error.empty()) {
    counters_.rule_edits.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // The edited file loaded in the editor, so this is the kernel or the
  // terminator refusing it: the file goes back to what runs.
  config::replace_config_file(gateway_.config_path(), original);
  reload_locked();
  throw config::RuleEditError("not applied: " + error);
}

}  // namespace tlsgate::daemon
