#include "policy/url_pattern.h"

#include <algorithm>
#include <cctype>

namespace tlsgate::policy {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool unreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

std::nullopt_t fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return std::nullopt;
}

// '*' matches any run of characters; the classic two-pointer match with one
// backtrack point, linear in practice.
bool glob_matches(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

std::string normalize_url_path(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '#') break;
    if (c == '%' && i + 2 < path.size()) {
      const int hi = hex_value(path[i + 1]);
      const int lo = hex_value(path[i + 2]);
      if (hi >= 0 && lo >= 0) {
        const char decoded = static_cast<char>(hi * 16 + lo);
        if (unreserved(decoded)) {
          out += decoded;
        } else {
          out += '%';
          out += static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 1])));
          out += static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 2])));
        }
        i += 2;
        continue;
      }
    }
    out += c;
  }
  return out;
}

std::optional<UrlPattern> UrlPattern::parse(std::string_view text, std::string* error) {
  const std::string quoted = "'" + std::string(text) + "'";
  std::string_view rest = text;
  if (rest.starts_with("https://")) rest.remove_prefix(8);
  if (rest.find("://") != std::string_view::npos) {
    return fail(error, "url pattern " + quoted + ": only https:// (or no scheme) is inspected");
  }
  if (rest.empty()) return fail(error, "empty url pattern");
  if (std::any_of(rest.begin(), rest.end(),
                  [](unsigned char c) { return c <= ' ' || c == 0x7f || c == '#'; })) {
    return fail(error, "url pattern " + quoted + " contains a space, control character or '#'");
  }
  const auto slash = rest.find('/');
  const std::string_view host_text = rest.substr(0, slash);
  UrlPattern out;
  if (host_text != "*") {
    std::string host_error;
    auto host = SniPattern::parse(host_text, &host_error);
    if (!host) return fail(error, "url pattern " + quoted + ": " + host_error);
    out.host = std::move(*host);
  }
  std::string path =
      slash == std::string_view::npos ? "/*" : normalize_url_path(rest.substr(slash));
  out.with_query = path.find('?') != std::string::npos;
  const auto stars = std::count(path.begin(), path.end(), '*');
  if (stars == 0) {
    out.kind = Kind::exact;
  } else if (stars == 1 && path.ends_with("/*") && !out.with_query) {
    out.kind = Kind::prefix;
    path.pop_back();
  } else {
    out.kind = Kind::glob;
  }
  out.path = std::move(path);
  out.text = (out.host ? out.host->to_string() : "*") +
             (slash == std::string_view::npos ? "" : std::string(rest.substr(slash)));
  return out;
}

bool UrlPattern::matches(std::string_view request_host, std::string_view target) const {
  if (host && !host->matches(request_host)) return false;
  if (target.empty() || target.front() != '/') return false;  // "*", authority-form
  std::string normalized = normalize_url_path(target);
  std::string_view subject = normalized;
  if (!with_query) subject = subject.substr(0, subject.find('?'));
  switch (kind) {
    case Kind::exact:
      return subject == path;
    case Kind::prefix:
      // "/admin/*" also covers "/admin" itself.
      return subject.starts_with(path) ||
             subject == std::string_view(path).substr(0, path.size() - 1);
    case Kind::glob:
      return glob_matches(path, subject);
  }
  return false;
}

bool request_matches(const Rule& rule, std::string_view host, std::string_view method,
                     std::string_view target) {
  if (!rule.methods.empty() &&
      std::find(rule.methods.begin(), rule.methods.end(), method) == rule.methods.end()) {
    return false;
  }
  return rule.url.empty() ||
         std::any_of(rule.url.begin(), rule.url.end(),
                     [&](const UrlPattern& u) { return u.matches(host, target); });
}

std::optional<std::string> parse_method(std::string_view text, std::string* error) {
  if (text.empty() || text.size() > 32 || !std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
      })) {
    return fail(error, "'" + std::string(text) + "' is not an HTTP method (GET, POST, ...)");
  }
  std::string method(text);
  std::transform(method.begin(), method.end(), method.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return method;
}

}  // namespace tlsgate::policy
