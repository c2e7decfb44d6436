// What a threat-list entry and a request are compared as (DESIGN.md §4a):
// names lower-cased without a trailing dot, IDNA A-labels as written; URL
// keys "host[:port]/path" with the default ports dropped and percent-escapes
// of unreserved characters decoded (RFC 3986 §6.2.2), so that
// "/%7Euser/%41" and "/~user/A" are one key.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/threat_list_spec.h"

namespace tlsgate::threat {

// A host name ("a.example") or, with `allow_ip`, an IP literal ("192.0.2.1",
// "2001:db8::1"); nullopt with *error saying what is wrong.
std::optional<std::string> normalize_host(std::string_view text, bool allow_ip, std::string* error);

// A request's host and target as a URL key ("evil.example/a/b?c",
// "evil.example:8443/"); nullopt when the authority is not a host.
std::optional<std::string> request_url_key(std::string_view authority, std::string_view path);

// The host part of an authority ("Evil.Example:443" -> "evil.example").
std::optional<std::string> authority_host(std::string_view authority);

// Both at once, the authority read once: `host` as authority_host gives it;
// with `with_url`, `url` as request_url_key gives it ("" when the path is
// not origin-form) and `path_at` where its path starts.
struct RequestKey {
  std::string host;
  std::string url;
  size_t path_at = 0;
};
std::optional<RequestKey> request_key(std::string_view authority, std::string_view path,
                                      bool with_url);

// The entries one line of a list file holds (none for blank and comment
// lines), or the reason the line is malformed.
struct ParsedLine {
  std::vector<std::string> entries;  // normalized: names, or URL keys
  std::string error;                 // non-empty: malformed
};
ParsedLine parse_list_line(std::string_view line, policy::ThreatListFormat format);

}  // namespace tlsgate::threat
