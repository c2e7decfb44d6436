#include "config/icap_service.h"

#include <charconv>

namespace tlsgate::config {

namespace {

bool valid_service_char(char c) {
  // RFC 3986 path and query characters; no spaces, no controls, no fragment.
  return c > 0x20 && c < 0x7f && c != '#' && c != '"' && c != '<' && c != '>' && c != '\\' &&
         c != '^' && c != '`' && c != '{' && c != '|' && c != '}';
}

bool valid_host(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string IcapUrl::to_string() const {
  bool v6 = host.find(':') != std::string::npos;
  return "icap://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" + service;
}

std::optional<IcapUrl> parse_icap_url(std::string_view text, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<IcapUrl> {
    *error = std::move(why);
    return std::nullopt;
  };
  constexpr std::string_view kScheme = "icap://";
  if (text.substr(0, kScheme.size()) != kScheme) {
    return fail("must start with icap:// (icaps is not supported)");
  }
  text.remove_prefix(kScheme.size());
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return fail("names no service (icap://host:port/service)");
  std::string_view authority = text.substr(0, slash);
  std::string_view service = text.substr(slash + 1);
  if (service.empty()) return fail("names no service (icap://host:port/service)");
  for (char c : service) {
    if (!valid_service_char(c)) return fail("has a character not allowed in a service path");
  }
  if (authority.find('@') != std::string_view::npos) return fail("must not carry user info");
  IcapUrl url;
  std::optional<std::string_view> port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("has an unclosed [ in its address");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail("has text after the bracketed address");
      port_text = rest.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      authority = authority.substr(0, colon);
    }
    if (authority.find(':') != std::string_view::npos) {
      return fail("an IPv6 address must be written in brackets");
    }
    url.host = std::string(authority);
  }
  if (!valid_host(url.host)) return fail("has no valid host");
  if (port_text) {
    unsigned value = 0;
    const char* first = port_text->data();
    const char* last = first + port_text->size();
    auto [end, ec] = std::from_chars(first, last, value);
    if (port_text->empty() || ec != std::errc() || end != last || value == 0 || value > 65535) {
      return fail("has an invalid port");
    }
    url.port = static_cast<uint16_t>(value);
  }
  url.service = std::string(service);
  return url;
}

const char* to_string(IcapMethod m) {
  return m == IcapMethod::reqmod ? "reqmod" : "respmod";
}

const char* to_string(IcapFailAction a) {
  return a == IcapFailAction::block ? "block" : "pass";
}

}  // namespace tlsgate::config
