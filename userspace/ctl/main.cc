// tlsgatectl: the administrator's CLI. Everything goes through tlsgated's
// control socket (DESIGN.md §8), except `events`, which reads the event file
// the daemon names, and `ca export` when no daemon answers (it then reads the
// certificates in the state directory).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>

#include "ca/ca_control.h"
#include "config/config_loader.h"
#include "control/control_client.h"
#include "ctl/bypass_rules.h"
#include "ctl/ca_commands.h"
#include "ctl/event_filter.h"
#include "ctl/human_output.h"
#include "ctl/socket_hint.h"
#include "ctl/suggest_commands.h"
#include "ctl/threat_output.h"

namespace {

using nlohmann::json;
using tlsgate::control::ControlClient;
using tlsgate::control::ControlError;

constexpr const char* kDefaultConfig = "/etc/tlsgate/tlsgate.toml";

std::atomic<bool> interrupted{false};

struct Options {
  std::string config_path = kDefaultConfig;
  std::string state_dir;
  std::string socket;
  bool json = false;
};

// The config file, when it can be read; a warning otherwise (tlsgatectl
// must still reach a daemon whose file was just broken by hand).
std::optional<tlsgate::config::GatewayConfig> try_config(const Options& o, bool quiet) {
  try {
    return tlsgate::config::load_config_file(o.config_path);
  } catch (const std::exception& e) {
    if (!quiet && (o.config_path != kDefaultConfig || std::filesystem::exists(o.config_path))) {
      std::fprintf(stderr, "tlsgatectl: warning: %s\n", e.what());
    }
    return std::nullopt;
  }
}

std::filesystem::path socket_path(const Options& o) {
  if (!o.socket.empty()) return o.socket;
  if (auto c = try_config(o, false)) return c->control_socket;
  try {
    if (auto hint =
            tlsgate::ctl::control_socket_hint(tlsgate::config::read_config_text(o.config_path))) {
      return *hint;
    }
  } catch (const std::exception&) {
    // Unreadable: the default socket it is.
  }
  return tlsgate::config::GatewayConfig{}.control_socket;
}

json call(const Options& o, const json& request) {
  return ControlClient(socket_path(o)).call(request);
}

void print(const Options& o, const json& result, const std::string& human) {
  if (o.json) {
    std::printf("%s\n", result.dump(2, ' ', false, json::error_handler_t::replace).c_str());
  } else {
    std::fputs(human.c_str(), stdout);
  }
}

struct RuleOptions {
  std::string name;
  std::string action;
  std::vector<std::string> sni, dst, client;
  std::vector<int64_t> port;
  std::vector<std::string> url, method;
  size_t position = 0;  // 0: not given
};

void add_matcher_options(CLI::App* cmd, std::vector<std::string>& sni,
                         std::vector<std::string>& dst, std::vector<std::string>& client) {
  cmd->add_option("--sni", sni, "server name, exact or *.suffix (repeatable)");
  cmd->add_option("--dst", dst, "destination address or prefix (repeatable)");
  cmd->add_option("--client", client, "client address or prefix (repeatable)");
}

int events_command(const Options& o, const std::vector<std::string>& types,
                   const std::string& since, bool follow, const std::string& file) {
  tlsgate::ctl::EventFilter filter;
  filter.types = types;
  if (!since.empty()) {
    std::string error;
    filter.since = tlsgate::ctl::parse_since(since, std::chrono::system_clock::now(), &error);
    if (!filter.since) {
      std::fprintf(stderr, "tlsgatectl: --since %s\n", error.c_str());
      return 2;
    }
  }
  std::filesystem::path path = file;
  if (path.empty()) {
    // The running daemon knows where it writes; else the config file says.
    try {
      path = call(o, {{"command", "status"}}).at("paths").at("event_log").get<std::string>();
    } catch (const std::exception&) {
      auto c = try_config(o, false);
      path = c ? c->event_log : tlsgate::config::GatewayConfig{}.event_log;
    }
    if (path.empty()) {
      std::fprintf(stderr,
                   "tlsgatectl: events go to the journal only ([paths] event_log = "
                   "\"\"): journalctl -t tlsgated\n");
      return 1;
    }
  }
  signal(SIGINT, [](int) { interrupted = true; });
  signal(SIGTERM, [](int) { interrupted = true; });
  tlsgate::ctl::read_event_lines(
      path, follow,
      [&](std::string_view line) {
        json event = json::parse(line, nullptr, false);
        if (event.is_discarded() || !filter.matches(event)) return;
        if (o.json) {
          std::printf("%.*s\n", static_cast<int>(line.size()), line.data());
        } else {
          std::printf("%s\n", tlsgate::ctl::format_event(event).c_str());
        }
        std::fflush(stdout);
      },
      [] { return !interrupted.load(); });
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tlsgatectl - administer the tlsgate inspection gateway"};
  app.require_subcommand(1);
  Options o;
  app.add_option("-c,--config", o.config_path, "configuration file")->capture_default_str();
  app.add_option("--state-dir", o.state_dir, "state directory (overrides the config file)");
  app.add_option("--socket", o.socket, "control socket (default: the config's control_socket)");
  app.add_flag("--json", o.json, "print the answer as JSON");
  app.set_version_flag("--version", std::string("tlsgatectl ") + TLSGATE_VERSION);

  CLI::App* status = app.add_subcommand("status", "the daemon's state");
  CLI::App* flows = app.add_subcommand("flows", "flows the terminator holds now");
  CLI::App* stats = app.add_subcommand("stats", "counters (terminator, kernel, cache, events)");
  CLI::App* reload = app.add_subcommand("reload", "re-read the configuration file");
  CLI::App* threats =
      app.add_subcommand("threats", "threat lists: entries, load time, malformed lines, hits");

  CLI::App* rules = app.add_subcommand("rules", "list, add or delete rules");
  rules->require_subcommand(1);
  CLI::App* rules_list = rules->add_subcommand("list", "the rules in order (first match wins)");
  CLI::App* rules_add = rules->add_subcommand("add", "add a rule (also written to the config)");
  RuleOptions r;
  rules_add->add_option("--name", r.name, "rule name (unique)")->required();
  rules_add->add_option("--action", r.action, "inspect, bypass or block")
      ->required()
      ->check(CLI::IsMember({"inspect", "bypass", "block"}));
  add_matcher_options(rules_add, r.sni, r.dst, r.client);
  rules_add->add_option("--port", r.port, "intercept port (repeatable)");
  rules_add->add_option("--url", r.url,
                        "request URL host/path: exact, /dir/* or glob (repeatable; decided per "
                        "request, action inspect or block)");
  rules_add->add_option("--method", r.method, "request method, e.g. POST (repeatable)");
  rules_add->add_option("--position", r.position, "1 = first; default: after the last rule")
      ->check(CLI::PositiveNumber);
  CLI::App* rules_del = rules->add_subcommand("del", "delete a rule (also from the config)");
  std::string del_name;
  rules_del->add_option("name", del_name, "rule name")->required();

  CLI::App* bypass = app.add_subcommand("bypass", "bypass rules (sugar for rules)");
  bypass->require_subcommand(1);
  CLI::App* bypass_list = bypass->add_subcommand("list", "the bypass rules");
  CLI::App* bypass_add = bypass->add_subcommand("add", "bypass flows (first rule by default)");
  tlsgate::ctl::BypassMatch add_match;
  std::string bypass_name;
  size_t bypass_position = 0;
  add_matcher_options(bypass_add, add_match.sni, add_match.dst, add_match.client);
  bypass_add->add_option("--name", bypass_name, "rule name (default: from the matchers)");
  bypass_add->add_option("--position", bypass_position, "1 = first (default)")
      ->check(CLI::PositiveNumber);
  CLI::App* bypass_del = bypass->add_subcommand("del", "delete bypass rules, by name or matchers");
  tlsgate::ctl::BypassMatch del_match;
  std::string bypass_del_name;
  bypass_del->add_option("name", bypass_del_name, "rule name");
  add_matcher_options(bypass_del, del_match.sni, del_match.dst, del_match.client);

  CLI::App* events = app.add_subcommand("events", "show events from the event file");
  std::vector<std::string> event_types;
  std::string since;
  std::string event_file;
  bool follow = false;
  events->add_option("--type", event_types,
                     "flow, tls, client_reject, auto_bypass, http, ca (repeatable)");
  events->add_option("--since", since, "10m, 2h, 1d or a time (2024-05-01T10:00:00Z)");
  events->add_flag("-f,--follow", follow, "keep printing new events (Ctrl-C ends)");
  events->add_option("--file", event_file, "event file (default: the daemon's)");

  CLI::App* suggest =
      app.add_subcommand("suggest", "bypass suggestions: what keeps breaking under inspection");
  std::string suggest_id;
  CLI::App* suggest_accept =
      suggest->add_subcommand("accept", "turn a suggestion into a bypass rule (config written)");
  suggest_accept->add_option("id", suggest_id, "the suggestion's ID")->required();
  CLI::App* suggest_dismiss = suggest->add_subcommand("dismiss", "drop a suggestion");
  suggest_dismiss->add_option("id", suggest_id, "the suggestion's ID")->required();

  CLI::App* ca = app.add_subcommand("ca", "the gateway's certificate authorities");
  ca->require_subcommand(1);
  std::string ca_name = "default";
  std::string ca_at;
  unsigned ca_generation = 0;  // 0: not given
  bool ca_all = false;
  tlsgate::ctl::CaImportFiles import_files;
  auto name_arg = [&](CLI::App* cmd) {
    cmd->add_option("name", ca_name, "CA name (rules name it with ca = \"...\")")
        ->capture_default_str();
  };
  CLI::App* ca_init = ca->add_subcommand("init", "create a new CA (generation 1, active)");
  name_arg(ca_init);
  CLI::App* ca_import = ca->add_subcommand(
      "import", "bring your own CA (staged; active for a new name), or a cross-certificate");
  name_arg(ca_import);
  ca_import->add_option("--cert", import_files.cert, "enterprise root or intermediate (PEM)");
  ca_import->add_option("--key", import_files.key, "its private key (PEM, may be encrypted)");
  ca_import->add_option("--passphrase-file", import_files.passphrase,
                        "file whose first line is the key's passphrase");
  ca_import->add_option("--chain", import_files.chain,
                        "an intermediate's issuers up to and including the root (PEM)");
  ca_import->add_option("--cross", import_files.cross,
                        "a cross-certificate: another root signing this CA's root (PEM)");
  CLI::App* ca_list = ca->add_subcommand("list", "every CA generation, its state and certificates");
  CLI::App* ca_status = ca->add_subcommand(
      "status", "per rule: signing CA, subject, issuer, rotation; per CA: adoption by client");
  CLI::App* ca_stage = ca->add_subcommand("stage",
                                          "create the next generation (published, "
                                          "not signing yet)");
  name_arg(ca_stage);
  CLI::App* ca_activate =
      ca->add_subcommand("activate", "the staged generation signs from now (or --at)");
  name_arg(ca_activate);
  ca_activate->add_option("--at", ca_at, "now, +10m, +2h, +3d or 2025-03-01T12:00:00Z");
  CLI::App* ca_retire = ca->add_subcommand(
      "retire", "stop publishing the retiring generation (or --generation N, a staged one)");
  name_arg(ca_retire);
  ca_retire->add_option("--generation", ca_generation, "generation number")
      ->check(CLI::PositiveNumber);
  ca_retire->add_option("--at", ca_at, "now, +10m, +2h, +3d or 2025-03-01T12:00:00Z");
  CLI::App* ca_export =
      ca->add_subcommand("export", "print a root CA certificate (PEM) to install on clients");
  name_arg(ca_export);
  ca_export->add_option("--generation", ca_generation, "generation (default: the active one)")
      ->check(CLI::PositiveNumber);
  ca_export->add_flag("--all", ca_all, "every published root (staged, active, retiring)");

  CLI11_PARSE(app, argc, argv);

  try {
    if (ca_export->parsed()) {
      json request = {{"command", "ca.export"}, {"name", ca_name}, {"all", ca_all}};
      if (ca_generation != 0) request["generation"] = ca_generation;
      json answer;
      if (o.state_dir.empty()) {
        try {
          answer = call(o, request);
        } catch (const ControlError&) {
          // No daemon (or not ours to reach): the certificates are in the state dir.
        }
      }
      if (answer.is_null()) {
        std::filesystem::path dir = o.state_dir;
        if (dir.empty()) dir = tlsgate::config::load_config_file(o.config_path).state_dir;
        answer = tlsgate::tls::export_from_state_dir(dir, request);
      }
      std::fputs(answer.value("pem", std::string()).c_str(), stdout);
      return 0;
    }
    if (ca_init->parsed() || ca_stage->parsed()) {
      const json answer =
          call(o, {{"command", ca_init->parsed() ? "ca.init" : "ca.stage"}, {"name", ca_name}});
      print(o, answer, tlsgate::ctl::format_ca_change(answer));
      return 0;
    }
    if (ca_import->parsed()) {
      import_files.name = ca_name;
      const json answer = call(o, tlsgate::ctl::ca_import_request(import_files));
      print(o, answer, tlsgate::ctl::format_ca_change(answer));
      return 0;
    }
    if (ca_activate->parsed() || ca_retire->parsed()) {
      json request = {{"command", ca_activate->parsed() ? "ca.activate" : "ca.retire"},
                      {"name", ca_name}};
      if (!ca_at.empty()) {
        std::string error;
        auto at = tlsgate::ctl::parse_at(ca_at, static_cast<int64_t>(std::time(nullptr)), &error);
        if (!at) {
          std::fprintf(stderr, "tlsgatectl: --at %s\n", error.c_str());
          return 2;
        }
        request["at"] = *at;
      }
      if (ca_generation != 0) request["generation"] = ca_generation;
      const json answer = call(o, request);
      print(o, answer, tlsgate::ctl::format_ca_change(answer));
      return 0;
    }
    if (ca_list->parsed()) {
      const json answer = call(o, {{"command", "ca.list"}});
      print(o, answer, tlsgate::ctl::format_ca_list(answer));
      return 0;
    }
    if (ca_status->parsed()) {
      const json answer = call(o, {{"command", "ca.status"}});
      print(o, answer, tlsgate::ctl::format_ca_status(answer));
      return 0;
    }
    if (events->parsed()) return events_command(o, event_types, since, follow, event_file);
    if (suggest_accept->parsed() || suggest_dismiss->parsed()) {
      const json answer =
          call(o, tlsgate::ctl::suggest_request(
                      suggest_accept->parsed() ? "suggest.accept" : "suggest.dismiss", suggest_id));
      print(o, answer, tlsgate::ctl::format_suggest_change(answer));
      return 0;
    }
    if (suggest->parsed()) {
      const json answer = call(o, tlsgate::ctl::suggest_request("suggest.list", ""));
      print(o, answer, tlsgate::ctl::format_suggestions(answer));
      return 0;
    }
    if (status->parsed()) {
      const json s = call(o, {{"command", "status"}});
      print(o, s, tlsgate::ctl::format_status(s));
    } else if (flows->parsed()) {
      const json f = call(o, {{"command", "flows"}});
      print(o, f, tlsgate::ctl::format_flows(f));
    } else if (stats->parsed()) {
      const json s = call(o, {{"command", "stats"}});
      print(o, s, tlsgate::ctl::format_stats(s));
    } else if (reload->parsed()) {
      const json answer = call(o, {{"command", "reload"}});
      std::string text = "reloaded: " + answer.value("rules", json(0)).dump() + " rules\n";
      const json later = answer.value("restart_needed", json::array());
      if (!later.empty()) {
        text += "changed, applied at the next restart (systemctl restart tlsgate):";
        for (const auto& key : later) text += " " + key.get<std::string>();
        text += "\n";
      }
      print(o, answer, text);
    } else if (threats->parsed()) {
      const json answer = call(o, {{"command", "threats"}});
      print(o, answer, tlsgate::ctl::format_threats(answer));
    } else if (rules_list->parsed() || bypass_list->parsed()) {
      const json list = call(o, {{"command", "rules.list"}});
      print(o, list, tlsgate::ctl::format_rules(list, bypass_list->parsed() ? "bypass" : ""));
    } else if (rules_add->parsed()) {
      json rule = {{"name", r.name}, {"action", r.action}};
      if (!r.sni.empty()) rule["sni"] = r.sni;
      if (!r.dst.empty()) rule["dst"] = r.dst;
      if (!r.client.empty()) rule["client"] = r.client;
      if (!r.port.empty()) rule["port"] = r.port;
      if (!r.url.empty()) rule["url"] = r.url;
      if (!r.method.empty()) rule["method"] = r.method;
      json request = {{"command", "rules.add"}, {"rule", rule}};
      if (r.position != 0) request["position"] = r.position;
      const json answer = call(o, request);
      print(o, answer,
            "added rule '" + r.name + "' at position " + answer.value("position", json(0)).dump() +
                "\n");
    } else if (rules_del->parsed()) {
      const json answer = call(o, {{"command", "rules.del"}, {"name", del_name}});
      print(o, answer, "deleted rule '" + del_name + "'\n");
    } else if (bypass_add->parsed()) {
      if (add_match.empty()) {
        std::fprintf(stderr, "tlsgatectl: bypass add needs --sni, --dst or --client\n");
        return 2;
      }
      const std::string name =
          bypass_name.empty() ? tlsgate::ctl::bypass_rule_name(add_match) : bypass_name;
      const json answer = call(
          o, tlsgate::ctl::bypass_add_request(
                 add_match, name, bypass_position ? std::optional(bypass_position) : std::nullopt));
      print(o, answer,
            "added bypass rule '" + name + "' at position " +
                answer.value("position", json(0)).dump() + "\n");
    } else if (bypass_del->parsed()) {
      if (bypass_del_name.empty() == del_match.empty()) {
        std::fprintf(stderr, "tlsgatectl: bypass del takes a rule name or matchers, not both\n");
        return 2;
      }
      std::vector<std::string> names;
      if (!bypass_del_name.empty()) {
        names.push_back(bypass_del_name);
      } else {
        names =
            tlsgate::ctl::bypass_rules_matching(call(o, {{"command", "rules.list"}}), del_match);
        if (names.empty()) {
          std::fprintf(stderr, "tlsgatectl: no bypass rule has exactly these matchers\n");
          return 1;
        }
      }
      json deleted = json::array();
      for (const auto& name : names) {
        call(o, {{"command", "rules.del"}, {"name", name}});
        deleted.push_back(name);
      }
      std::string human;
      for (const auto& name : names) human += "deleted rule '" + name + "'\n";
      print(o, {{"deleted", deleted}}, human);
    }
  } catch (const ControlError& e) {
    std::fprintf(stderr, "tlsgatectl: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlsgatectl: %s\n", e.what());
    return 1;
  }
  return 0;
}
