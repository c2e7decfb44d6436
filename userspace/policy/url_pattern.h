// The request matchers of a rule (DESIGN.md §4a), `url` and `method`: their
// parsing and matching (the model is UrlPattern in policy/rule.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "policy/rule.h"

namespace tlsgate::policy {

// A request path with the escapes of unreserved characters (RFC 3986 §2.3)
// decoded, other escapes upper-cased, the fragment dropped.
std::string normalize_url_path(std::string_view path);

// Does `rule`'s request matchers (url, method) match this request? True for
// a rule without any. `host`: lower-case, no port, no trailing dot.
bool request_matches(const Rule& rule, std::string_view host, std::string_view method,
                     std::string_view target);

// A method token as compared (upper-cased); nullopt when `text` is not one.
std::optional<std::string> parse_method(std::string_view text, std::string* error);

}  // namespace tlsgate::policy
