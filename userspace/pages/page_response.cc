#include "pages/page_response.h"

namespace tlsgate::pages {

std::string_view PageResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return {};
}

std::vector<std::pair<std::string, std::string>> page_security_headers(
    std::string_view content_type) {
  return {
      {"content-type", std::string(content_type)},
      {"content-security-policy",
       "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'"},
      {"x-frame-options", "DENY"},
      {"cache-control", "no-store"},
      {"referrer-policy", "no-referrer"},
      {"x-content-type-options", "nosniff"},
  };
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 303:
      return "See Other";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

PageResponse plain_status_response(int status) {
  PageResponse response;
  response.status = status;
  response.headers = page_security_headers("text/plain; charset=utf-8");
  response.body = std::string(reason_phrase(status)) + "\n";
  return response;
}

PageResponse forbidden_page(std::string html) {
  PageResponse response;
  response.status = 403;
  response.headers = page_security_headers();
  response.body = std::move(html);
  return response;
}

}  // namespace tlsgate::pages
