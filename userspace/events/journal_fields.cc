#include "events/journal_fields.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace tlsgate::events {

namespace {

using nlohmann::json;

// Stable per event type, for journal catalogs and `journalctl MESSAGE_ID=`.
constexpr std::pair<std::string_view, std::string_view> kMessageIds[] = {
    {"flow", "28a3f43babf74889a1ad57d534374166"},
    {"tls", "3df149e6645e4ad490e42f93253a8c0a"},
    {"client_reject", "973eca670c5e4e66a346cade561d5742"},
    {"http", "3bbf248c365c4f03a985c70aa520312f"},
    {"ca", "1b4cf08e02e5454a9bab5219d27f339e"},
    {"auto_bypass", "07e5aadc08684fb1918637e7c98d5a88"},
    {"threat", "7c9534fb08184caf9fbda12579f33a36"},
};

std::string field_name(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c >= 'a' && c <= 'z') {
      out += static_cast<char>(c - 'a' + 'A');
    } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') {
      out += c;
    } else {
      out += '_';
    }
  }
  while (!out.empty() && out.front() == '_') out.erase(0, 1);
  if (!out.empty() && out.front() >= '0' && out.front() <= '9') out.insert(0, "F");
  return out.substr(0, 64);  // journald's limit
}

std::string value_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string text_of(const json& fields, const char* key) {
  auto it = fields.find(key);
  return it == fields.end() ? std::string() : value_text(*it);
}

int priority_of(std::string_view type) {
  return type == "tls" || type == "client_reject" || type == "threat" ? LOG_WARNING : LOG_INFO;
}

}  // namespace

std::string journal_summary(const json& fields) {
  const std::string type = text_of(fields, "type");
  std::string out = type;
  auto add = [&](const char* key, const char* label) {
    if (auto it = fields.find(key); it != fields.end() && !it->is_null()) {
      out += std::string(" ") + label + value_text(*it);
    }
  };
  if (type == "flow") {
    out += " " + text_of(fields, "client") + " -> " + text_of(fields, "server");
    add("sni", "sni=");
    add("action", "");
    add("rule", "rule=");
    add("reason", "reason=");
  } else if (type == "tls") {
    add("class", "");
    out += " " + text_of(fields, "server");
    add("sni", "sni=");
    add("action", "");
    add("detail", "- ");
  } else {
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      if (it.key() == "type" || it.key() == "ts") continue;
      out += " " + it.key() + "=" + value_text(it.value());
    }
  }
  // MESSAGE is one line even when a field (a verifier's detail) is not.
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

std::vector<std::string> journal_fields(const json& fields) {
  std::vector<std::string> out;
  const std::string type = text_of(fields, "type");
  out.push_back("MESSAGE=" + journal_summary(fields));
  out.push_back("PRIORITY=" + std::to_string(priority_of(type)));
  out.push_back("SYSLOG_IDENTIFIER=tlsgated");
  for (const auto& [t, id] : kMessageIds) {
    if (t == type) out.push_back("MESSAGE_ID=" + std::string(id));
  }
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    const std::string name = field_name(it.key());
    if (name.empty() || name == "MESSAGE" || name == "PRIORITY" || name == "MESSAGE_ID" ||
        name == "SYSLOG_IDENTIFIER") {
      continue;  // ours above; an event field must not override them
    }
    if (it->is_array()) {
      for (const auto& element : *it) out.push_back(name + "=" + value_text(element));
    } else if (!it->is_null()) {
      out.push_back(name + "=" + value_text(*it));
    }
  }
  return out;
}

bool send_to_journal(const std::vector<std::string>& entries) {
  std::vector<iovec> iov;
  iov.reserve(entries.size());
  for (const auto& e : entries) {
    iov.push_back({const_cast<char*>(e.data()), e.size()});
  }
  return sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) == 0;
}

bool stdout_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long dev = 0;
  unsigned long long ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (::fstat(STDOUT_FILENO, &st) != 0) return false;
  return st.st_dev == dev && st.st_ino == ino;
}

}  // namespace tlsgate::events
