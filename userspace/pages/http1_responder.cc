#include "pages/http1_responder.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace tlsgate::pages {
namespace {

// RFC 9110 §5.6.2 token characters.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// Field values: visible ASCII, space, tab, obs-text; never CR, LF or NUL.
bool is_field_value(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7F);
  });
}

bool iequals(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [&](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Lines end in CRLF or a lone LF (RFC 9112 §2.2 allows accepting LF).
std::string_view next_line(std::string_view& rest) {
  size_t lf = rest.find('\n');
  std::string_view line = rest.substr(0, lf);
  rest.remove_prefix(lf == std::string_view::npos ? rest.size() : lf + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

struct Parsed {
  int error_status = 0;  // 0: `request` is valid
  PageRequest request;
};

Parsed parse_head(std::string_view head) {
  Parsed out;
  auto fail = [&](int status) {
    out.error_status = status;
    return out;
  };
  std::string_view request_line = next_line(head);
  const size_t sp1 = request_line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || request_line.find(' ', sp2 + 1) != std::string_view::npos) {
    return fail(400);
  }
  const std::string_view method = request_line.substr(0, sp1);
  const std::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = request_line.substr(sp2 + 1);
  if (!is_token(method) || target.empty()) return fail(400);
  if (!std::all_of(target.begin(), target.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7F;
      })) {
    return fail(400);
  }
  const bool v11 = version == "HTTP/1.1";
  if (!v11 && version != "HTTP/1.0") {
    const bool looks_http = version.size() == 8 && version.starts_with("HTTP/") &&
                            std::isdigit(static_cast<unsigned char>(version[5])) &&
                            version[6] == '.' &&
                            std::isdigit(static_cast<unsigned char>(version[7]));
    return fail(looks_http ? 505 : 400);
  }

  std::optional<std::string> host;
  while (!head.empty()) {
    std::string_view line = next_line(head);
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') return fail(400);  // obs-fold
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail(400);
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (!is_token(name) || !is_field_value(value)) return fail(400);
    if (iequals(name, "host")) {
      if (host) return fail(400);  // RFC 9112 §3.2: more than one Host
      host = std::string(value);
    }
  }
  if (v11 && !host) return fail(400);

  out.request.method = std::string(method);
  out.request.authority = host.value_or("");
  if (target.front() == '/') {
    out.request.path = std::string(target);
  } else if (target == "*" && method == "OPTIONS") {
    out.request.path = "*";
  } else if (const size_t scheme = target.find("://");
             scheme != std::string_view::npos && (iequals(target.substr(0, scheme), "http") ||
                                                  iequals(target.substr(0, scheme), "https"))) {
    // Absolute form: the authority in the target wins over Host.
    std::string_view rest = target.substr(scheme + 3);
    const size_t slash = rest.find_first_of("/?");
    out.request.authority = std::string(rest.substr(0, slash));
    if (out.request.authority.empty()) return fail(400);
    const std::string_view path = slash == std::string_view::npos ? "/" : rest.substr(slash);
    out.request.path = path.front() == '/' ? std::string(path) : "/" + std::string(path);
  } else {
    return fail(400);  // authority form (CONNECT) and anything else
  }
  return out;
}

}  // namespace

std::vector<uint8_t> Http1Responder::feed(std::span<const uint8_t> plaintext) {
  if (finished_) return {};
  buffer_.append(plaintext.begin(), plaintext.end());
  // RFC 9112 §2.2: ignore empty lines before the request line.
  const size_t start = buffer_.find_first_not_of("\r\n");
  if (start == std::string::npos) {
    if (buffer_.size() > kMaxRequestHead) return respond(plain_status_response(400), false);
    return {};
  }
  std::string_view data = std::string_view(buffer_).substr(start);
  size_t end = std::string_view::npos;
  for (size_t lf = data.find('\n'); lf != std::string_view::npos; lf = data.find('\n', lf + 1)) {
    // The head ends at an empty line: "\n\n" or "\n\r\n".
    if (lf + 1 < data.size() && data[lf + 1] == '\n') {
      end = lf + 2;
      break;
    }
    if (lf + 2 < data.size() && data[lf + 1] == '\r' && data[lf + 2] == '\n') {
      end = lf + 3;
      break;
    }
  }
  if (end == std::string_view::npos || end > kMaxRequestHead) {
    if (data.size() > kMaxRequestHead) return respond(plain_status_response(431), false);
    return {};
  }
  Parsed parsed = parse_head(data.substr(0, end));
  if (parsed.error_status != 0) return respond(plain_status_response(parsed.error_status), false);
  PageResponse response;
  try {
    response = handler_(parsed.request);
  } catch (const std::exception&) {
    response = plain_status_response(500);
  }
  return respond(response, parsed.request.method == "HEAD");
}

std::vector<uint8_t> Http1Responder::respond(const PageResponse& response, bool head_only) {
  finished_ = true;
  buffer_.clear();
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " +
                    std::string(reason_phrase(response.status)) + "\r\n";
  for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
  out +=
      "content-length: " + std::to_string(response.body.size()) + "\r\nconnection: close\r\n\r\n";
  if (!head_only) out += response.body;
  return std::vector<uint8_t>(out.begin(), out.end());
}

}  // namespace tlsgate::pages
