// What tlsgate itself answers on a client's TLS session when no upstream
// content may be shown (block and warning pages, DESIGN.md §5): one request
// in, one response out, for HTTP/1.1 and h2 alike.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlsgate::pages {

struct PageRequest {
  std::string method;     // "GET"
  std::string authority;  // :authority, else Host ("" when the client sent neither)
  std::string path;       // origin-form with the query: "/a/b?c=d" ("*" for OPTIONS *)
};

struct PageResponse {
  int status = 200;
  // Lower-case names (h2 requires it; HTTP/1.1 does not care). The
  // responder adds content-length and, for HTTP/1.1, connection: close.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first value of `name` ("" when absent).
  std::string_view header(std::string_view name) const;
};

using PageHandler = std::function<PageResponse(const PageRequest&)>;

// Headers every page carries (SECURITY-BATTERY case 29): no framing, no
// caching, no referrer, no script, no sniffing; forms only to the same origin.
std::vector<std::pair<std::string, std::string>> page_security_headers(
    std::string_view content_type = "text/html; charset=utf-8");

// 403 with `html` and the security headers: what a block or warning page
// answers (scripts and crawlers see a failure, not content).
PageResponse forbidden_page(std::string html);

// A short text/plain answer for requests we cannot parse (400, 405, 431, 505).
PageResponse plain_status_response(int status);

// "Forbidden" for 403, ... ("" for codes we never send).
std::string_view reason_phrase(int status);

}  // namespace tlsgate::pages
