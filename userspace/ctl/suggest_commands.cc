#include "ctl/suggest_commands.h"

#include <algorithm>
#include <vector>

#include "ctl/human_output.h"

namespace tlsgate::ctl {

namespace {

using nlohmann::json;

std::string text(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "-";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// "unknown_ca x3, closed_after_certificate x1", most frequent first.
std::string reasons(const json& item) {
  std::vector<std::pair<uint64_t, std::string>> counted;
  const json listed = item.value("reasons", json::object());
  for (auto it = listed.begin(); it != listed.end(); ++it) {
    std::string name = it.key().starts_with("alert:") ? it.key().substr(6) : it.key();
    counted.emplace_back(it.value().get<uint64_t>(), std::move(name));
  }
  std::sort(counted.begin(), counted.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string out;
  for (const auto& [n, name] : counted) {
    out += (out.empty() ? "" : ", ") + name + " x" + std::to_string(n);
  }
  return out.empty() ? "-" : out;
}

int64_t seconds_of(const json& settings, const char* key) {
  return static_cast<int64_t>(settings.value(key, 0.0));
}

}  // namespace

json suggest_request(const std::string& command, const std::string& id) {
  json request = {{"command", command}};
  if (!id.empty()) request["id"] = id;
  return request;
}

std::string format_suggestions(const json& answer) {
  const json settings = answer.value("settings", json::object());
  const std::string rule = "threshold " + text(settings, "threshold") + " within " +
                           format_duration(seconds_of(settings, "window_s")) + ", auto_bypass " +
                           (settings.value("auto_bypass", false) ? "on" : "off");
  std::string out;
  const json suggestions = answer.value("suggestions", json::array());
  if (suggestions.empty()) {
    out += "no bypass suggestions (" + rule + ")\n";
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"ID", "KIND", "COUNT", "DEVICE", "SNI", "JA4", "LAST SEEN", "WHY"}};
    for (const auto& s : suggestions) {
      const bool reject = s.value("kind", std::string()) == "client_reject";
      std::string kind = text(s, "kind") + (s.value("auto_bypass", false) ? " (bypassed)" : "");
      rows.push_back({text(s, "id"), kind,
                      text(s, "count") + " (" + text(s, "in_window") + " in window)",
                      reject ? text(s, "device") : "any", text(s, "sni"),
                      reject ? text(s, "ja4") : "-", text(s, "last_seen"), reasons(s)});
    }
    out += text_table(rows);
    out += "(" + rule + "; accept with: tlsgatectl suggest accept ID)\n";
  }
  const json bypasses = answer.value("auto_bypasses", json::array());
  if (!bypasses.empty()) {
    out += "\nautomatic bypasses:\n";
    std::vector<std::vector<std::string>> rows = {
        {"ID", "DEVICE", "SNI", "STATE", "EXPIRES IN", "RENEWALS"}};
    for (const auto& b : bypasses) {
      const int64_t left = b.value("expires_in_s", int64_t{0});
      rows.push_back({text(b, "id"), text(b, "device"), text(b, "sni"), text(b, "state"),
                      left > 0 ? format_duration(left) : "expired", text(b, "renewals")});
    }
    out += text_table(rows);
  }
  return out;
}

std::string format_suggest_change(const json& answer) {
  if (answer.contains("dismissed")) return "dismissed " + text(answer, "dismissed") + "\n";
  std::string scope;
  for (const char* key : {"client", "sni", "dst"}) {
    const json values = answer.value(key, json::array());
    if (!values.is_array() || values.empty()) continue;
    std::string list;
    for (const auto& v : values) list += (list.empty() ? "" : ",") + v.get<std::string>();
    scope += (scope.empty() ? "" : " ") + std::string(key) + "=" + list;
  }
  return "accepted " + text(answer, "accepted") + ": bypass rule '" + text(answer, "rule") + "' (" +
         scope + ") at position " + text(answer, "position") + "\n";
}

}  // namespace tlsgate::ctl
