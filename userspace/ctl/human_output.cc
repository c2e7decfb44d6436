#include "ctl/human_output.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "events/journal_fields.h"

namespace tlsgate::ctl {

namespace {

using nlohmann::json;

std::string text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

std::string field(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? "-" : text(*it);
}

std::string joined(const json& list, const char* separator = ",") {
  std::string out;
  if (!list.is_array()) return text(list);
  for (const auto& item : list) out += (out.empty() ? "" : separator) + text(item);
  return out;
}

std::string matchers(const json& rule) {
  std::string out;
  for (const char* key : {"sni", "dst", "client", "port", "url", "method"}) {
    if (rule.contains(key) && rule[key].is_array() && !rule[key].empty()) {
      out += (out.empty() ? "" : " ") + std::string(key) + "=" + joined(rule[key]);
    }
  }
  return out.empty() ? "(any flow)" : out;
}

void section(std::string& out, const char* title, const json& values) {
  if (!values.is_object()) return;
  out += std::string(title) + ":\n";
  std::vector<std::vector<std::string>> rows;
  for (auto it = values.begin(); it != values.end(); ++it)
    rows.push_back({"  " + it.key(), text(*it)});
  out += text_table(rows);
}

}  // namespace

std::string text_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string format_duration(int64_t seconds) {
  char buf[32];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(seconds));
  } else if (seconds < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(seconds / 60),
                  static_cast<long long>(seconds % 60));
  } else if (seconds < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(seconds / 3600),
                  static_cast<long long>(seconds % 3600 / 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(seconds / 86400),
                  static_cast<long long>(seconds % 86400 / 3600));
  }
  return buf;
}

std::string format_status(const json& s) {
  std::string out = "tlsgated " + field(s, "version") + ", pid " + field(s, "pid") + ", up " +
                    format_duration(s.value("uptime_s", int64_t{0})) + "\n";
  const json paths = s.value("paths", json::object());
  std::vector<std::vector<std::string>> rows = {
      {"config", field(s, "config_file")},
      {"interfaces", joined(s.value("lan_interfaces", json::array())) + " (ports " +
                         joined(s.value("intercept_ports", json::array())) + " -> listener " +
                         field(s, "listen_port") + ")"},
      {"workers", field(s, "workers")},
      {"fail mode", field(s, "fail_mode")},
      {"rules", field(s, "rules") + " (default " + field(s, "default_action") + ")"},
      {"kernel side", field(s, "kernel_side")},
      {"active flows", field(s, "connections_active")},
      {"events", field(paths, "event_log") + (s.value("event_journal", false) ? " + journal" : "")},
      {"control", field(paths, "control_socket")},
      {"metrics", s.value("metrics_listen", std::string()).empty()
                      ? "off"
                      : "http://" + field(s, "metrics_listen") + "/metrics"},
  };
  const json reload = s.value("last_reload", json());
  if (reload.is_object()) {
    rows.push_back(
        {"last reload", field(reload, "time") + " " +
                            (reload.value("ok", false) ? std::string("ok")
                                                       : "refused: " + field(reload, "error"))});
  }
  for (const auto& service : s.value("icap", json::array())) {
    std::string state =
        !service.contains("up") ? std::string("unknown")
        : service.value("up", false)
            ? std::string("up")
            : "DOWN for " + format_duration(service.value("down_for_s", int64_t{0}));
    rows.push_back(
        {"icap " + field(service, "name"),
         state + ", " + field(service, "method") + " " + field(service, "url") + ", istag " +
             (field(service, "istag").empty() ? "-" : field(service, "istag")) + ", " +
             field(service, "connections") +
             (service.contains("max_connections") ? " of " + field(service, "max_connections")
                                                  : std::string()) +
             " connections, on_error " + field(service, "on_error")});
  }
  return out + text_table(rows);
}

std::string format_flows(const json& answer) {
  const json flows = answer.value("flows", json::array());
  std::vector<std::vector<std::string>> rows = {
      {"CLIENT", "SERVER", "SNI", "ACTION", "RULE", "STATE", "BYTES IN/OUT", "AGE", "WORKER"}};
  for (const auto& f : flows) {
    rows.push_back({field(f, "client"), field(f, "server"), field(f, "sni"), field(f, "action"),
                    field(f, "rule"), field(f, "state"),
                    field(f, "bytes_from_client") + "/" + field(f, "bytes_from_server"),
                    format_duration(f.value("age_ms", int64_t{0}) / 1000), field(f, "worker")});
  }
  std::string out = text_table(rows) + std::to_string(flows.size()) + " flow" +
                    (flows.size() == 1 ? "" : "s") + "\n";
  if (answer.value("workers_not_answering", 0) > 0) {
    out += "warning: " + field(answer, "workers_not_answering") +
           " worker(s) did not answer; their flows are missing\n";
  }
  return out;
}

std::string format_rules(const json& answer, const std::string& only_action) {
  std::vector<std::vector<std::string>> rows = {{"#", "NAME", "ACTION", "MATCH", "DECIDED IN"}};
  size_t shown = 0;
  for (const auto& r : answer.value("rules", json::array())) {
    if (!only_action.empty() && r.value("action", std::string()) != only_action) continue;
    ++shown;
    rows.push_back({field(r, "position"), field(r, "name"), field(r, "action"), matchers(r),
                    r.value("per_request", false) ? "per request"
                    : r.value("kernel", false)    ? "kernel"
                                                  : "userspace"});
  }
  if (shown == 0) {
    return (only_action.empty() ? std::string("no rules") : "no " + only_action + " rules") +
           "; default action: " + field(answer, "default_action") + "\n";
  }
  return text_table(rows) + "default action: " + field(answer, "default_action") + "\n";
}

std::string format_stats(const json& stats) {
  std::string out;
  section(out, "terminator", stats.value("terminator", json()));
  section(out, "kernel", stats.value("kernel", json()));
  section(out, "forge cache", stats.value("forge_cache", json()));
  section(out, "events", stats.value("events", json()));
  section(out, "control", stats.value("control", json()));
  return out;
}

std::string format_event(const json& event) {
  return field(event, "ts") + " " + events::journal_summary(event);
}

}  // namespace tlsgate::ctl
