#include "threat/threat_entry.h"

#include <algorithm>
#include <cctype>

#include "common/ip_address.h"
#include "policy/url_pattern.h"

namespace tlsgate::threat {

namespace {

constexpr size_t kMaxNameLength = 253;
constexpr size_t kMaxLabelLength = 63;
constexpr size_t kMaxUrlLength = 4096;

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

std::nullopt_t fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return std::nullopt;
}

// "host", "host:port", "[v6]", "[v6]:port" -> normalized host and port text
// ("" for none or a default port).
std::optional<std::pair<std::string, std::string>> split_authority(std::string_view authority,
                                                                   std::string* error) {
  std::string_view host = authority;
  std::string_view port;
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return fail(error, "unclosed '[' in the host");
    if (close + 1 < host.size()) {
      if (host[close + 1] != ':') return fail(error, "text after ']' in the host");
      port = host.substr(close + 2);
    }
    host = host.substr(1, close - 1);
    if (const auto ip = IpAddress::parse(host); !ip || ip->is_v4()) {
      return fail(error, "'[" + std::string(host) + "]' is not an IPv6 address");
    }
  } else if (const auto colon = host.find(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (!port.empty() && (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
                          return c >= '0' && c <= '9';
                        }))) {
    return fail(error, "'" + std::string(port) + "' is not a port");
  }
  auto name = normalize_host(host, true, error);
  if (!name) return std::nullopt;
  if (name->find(':') != std::string::npos) *name = "[" + *name + "]";
  if (port == "443" || port == "80") port = {};
  return std::make_pair(std::move(*name), std::string(port));
}

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    size_t j = i;
    while (j < line.size() && !is_space(line[j])) ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

// The line without a comment: '#' at its start or after white space.
std::string_view strip_comment(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || is_space(line[i - 1]))) return line.substr(0, i);
  }
  return line;
}

std::optional<std::string> url_entry(std::string_view text, std::string* error) {
  if (text.size() > kMaxUrlLength) return fail(error, "URL longer than 4096 characters");
  std::string lower_scheme(text.substr(0, std::min<size_t>(text.size(), 8)));
  std::transform(lower_scheme.begin(), lower_scheme.end(), lower_scheme.begin(), ascii_lower);
  if (lower_scheme.starts_with("https://")) {
    text.remove_prefix(8);
  } else if (lower_scheme.starts_with("http://")) {
    text.remove_prefix(7);
  } else if (text.find("://") != std::string_view::npos) {
    return fail(error, "only http:// and https:// URLs can be matched");
  }
  const auto slash = text.find_first_of("/?");
  std::string_view authority = text.substr(0, slash);
  std::string path = slash == std::string_view::npos ? "/" : std::string(text.substr(slash));
  if (path.front() == '?') path.insert(path.begin(), '/');
  if (authority.find('@') != std::string_view::npos) {
    authority = authority.substr(authority.rfind('@') + 1);  // user info is not part of the key
  }
  auto host = split_authority(authority, error);
  if (!host) return std::nullopt;
  return host->first + (host->second.empty() ? "" : ":" + host->second) +
         policy::normalize_url_path(path);
}

}  // namespace

std::optional<std::string> normalize_host(std::string_view text, bool allow_ip,
                                          std::string* error) {
  // The messages are built on failure only: a request's host is normalized
  // on every lookup.
  const auto quoted = [&] { return "'" + std::string(text) + "'"; };
  if (text.empty()) return fail(error, "empty name");
  // Only digits and dots (IPv4) or a colon (IPv6) can make an address.
  const bool address_like = text.find(':') != std::string_view::npos ||
                            std::all_of(text.begin(), text.end(),
                                        [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  if (address_like) {
    if (auto ip = IpAddress::parse(text)) {
      if (!allow_ip) return fail(error, quoted() + " is an IP address, not a domain");
      return ip->to_string();
    }
  }
  std::string name(text);
  std::transform(name.begin(), name.end(), name.begin(), ascii_lower);
  if (name.back() == '.') name.pop_back();
  if (name.empty() || name.size() > kMaxNameLength) {
    return fail(error, quoted() + " is not a host name (1-253 characters)");
  }
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return fail(error, quoted() + " has an empty label");
      label = 0;
      continue;
    }
    if (!name_char(c)) {
      return fail(error, quoted() + " contains '" + std::string(1, c) +
                             "' (names are letters, digits, '-', '_' and '.'; IDNs as xn-- "
                             "A-labels)");
    }
    if (++label > kMaxLabelLength) {
      return fail(error, quoted() + " has a label over 63 characters");
    }
  }
  if (label == 0) return fail(error, quoted() + " has an empty label");
  const auto last_dot = name.rfind('.');
  const std::string_view top =
      std::string_view(name).substr(last_dot == std::string::npos ? 0 : last_dot + 1);
  if (std::all_of(top.begin(), top.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return fail(error, quoted() + " is neither a host name nor an IP address");
  }
  return name;
}

std::optional<RequestKey> request_key(std::string_view authority, std::string_view path,
                                      bool with_url) {
  auto split = split_authority(authority, nullptr);
  if (!split) return std::nullopt;
  RequestKey key;
  if (with_url && !path.empty() && path.front() == '/') {
    key.url = split->first + (split->second.empty() ? "" : ":" + split->second) +
              policy::normalize_url_path(path);
    key.path_at = key.url.find('/');  // the host and port have none
  }
  // An IPv6 literal is kept bracketed in URL keys; a bare host has no brackets.
  if (split->first.starts_with('[')) {
    key.host = split->first.substr(1, split->first.size() - 2);
  } else {
    key.host = std::move(split->first);
  }
  return key;
}

std::optional<std::string> authority_host(std::string_view authority) {
  auto key = request_key(authority, {}, false);
  if (!key) return std::nullopt;
  return std::move(key->host);
}

std::optional<std::string> request_url_key(std::string_view authority, std::string_view path) {
  auto key = request_key(authority, path, true);
  if (!key || key->url.empty()) return std::nullopt;
  return std::move(key->url);
}

ParsedLine parse_list_line(std::string_view line, policy::ThreatListFormat format) {
  ParsedLine out;
  const auto fields = fields_of(strip_comment(line));
  if (fields.empty()) return out;
  auto add_name = [&](std::string_view text, bool allow_ip) {
    std::string error;
    if (auto name = normalize_host(text, allow_ip, &error)) {
      out.entries.push_back(std::move(*name));
      return true;
    }
    out.entries.clear();
    out.error = std::move(error);
    return false;
  };
  switch (format) {
    case policy::ThreatListFormat::domains: {
      if (fields.size() != 1) {
        out.error = "expected one domain, found " + std::to_string(fields.size()) + " fields";
        return out;
      }
      std::string_view name = fields[0];
      // "*.evil.example" and ".evil.example" say what a domain entry means anyway.
      if (name.starts_with("*.")) {
        name.remove_prefix(2);
      } else if (name.starts_with('.')) {
        name.remove_prefix(1);
      }
      add_name(name, false);
      return out;
    }
    case policy::ThreatListFormat::hosts: {
      // One name a line, or a hosts-file line: an address, then names.
      const bool hosts_file = fields.size() > 1 && IpAddress::parse(fields[0]).has_value();
      if (fields.size() > 1 && !hosts_file) {
        out.error = "expected one host name, or an address followed by names";
        return out;
      }
      for (size_t i = hosts_file ? 1 : 0; i < fields.size(); ++i) {
        if (!add_name(fields[i], true)) return out;
      }
      return out;
    }
    case policy::ThreatListFormat::urls: {
      if (fields.size() != 1) {
        out.error = "expected one URL, found " + std::to_string(fields.size()) + " fields";
        return out;
      }
      std::string error;
      if (auto key = url_entry(fields[0], &error)) {
        out.entries.push_back(std::move(*key));
      } else {
        out.error = std::move(error);
      }
      return out;
    }
  }
  return out;
}

}  // namespace tlsgate::threat
