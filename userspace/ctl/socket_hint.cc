#include "ctl/socket_hint.h"

namespace tlsgate::ctl {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// A TOML basic ("...") or literal ('...') string at the start of `s`.
std::optional<std::string> string_value(std::string_view s) {
  if (s.empty() || (s.front() != '"' && s.front() != '\'')) return std::nullopt;
  const char quote = s.front();
  std::string out;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] == quote) return out;
    if (quote == '"' && s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      if (s[i] != '\\' && s[i] != '"') return std::nullopt;  // not in a socket path
    }
    out += s[i];
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> control_socket_hint(std::string_view text) {
  std::optional<std::string> found;
  std::string_view section;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    const std::string_view line = trim(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.starts_with('[')) {
      section = line.substr(0, line.find(']'));
      while (section.starts_with('[')) section.remove_prefix(1);
      section = trim(section);
      continue;
    }
    if (section != "paths" || !line.starts_with("control_socket")) continue;
    std::string_view rest = trim(line.substr(std::string_view("control_socket").size()));
    if (!rest.starts_with('=')) continue;
    if (auto value = string_value(trim(rest.substr(1)))) found = *value;
  }
  return found;
}

}  // namespace tlsgate::ctl
