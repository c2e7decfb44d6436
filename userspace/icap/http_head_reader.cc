#include "icap/http_head_reader.h"

#include <charconv>

namespace tlsgate::icap {

namespace {

// RFC 9110 §5.6.2. (http/h1_head.cc has the same; its header cannot be
// included next to http/message.h until their RequestHead names differ.)
bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool has_control(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return true;
  }
  return false;
}

// The first line and the rest, split at the first CRLF.
bool split_start_line(std::string_view head, std::string_view& line, std::string_view& rest) {
  size_t end = head.find("\r\n");
  if (end == std::string_view::npos) return false;
  line = head.substr(0, end);
  rest = head.substr(end + 2);
  return true;
}

}  // namespace

bool read_header_lines(std::string_view lines, http::HeaderList& out) {
  while (!lines.empty()) {
    size_t end = lines.find("\r\n");
    if (end == std::string_view::npos) return false;
    std::string_view line = lines.substr(0, end);
    lines.remove_prefix(end + 2);
    if (line.empty()) return lines.empty();
    if (has_control(line)) return false;
    if (line.front() == ' ' || line.front() == '\t') {
      if (out.empty()) return false;
      std::string_view more = trim(line);
      if (!more.empty()) {
        if (!out.back().value.empty()) out.back().value += ' ';
        out.back().value += more;
      }
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) return false;
    out.push_back({std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1)))});
  }
  return true;
}

std::optional<http::RequestHead> read_http_request_head(std::string_view head) {
  std::string_view line, rest;
  if (!split_start_line(head, line, rest)) return std::nullopt;
  size_t sp1 = line.find(' ');
  size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == sp2) return std::nullopt;
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method) || target.empty() || has_control(target) ||
      target.find(' ') != std::string_view::npos ||
      (version != "HTTP/1.1" && version != "HTTP/1.0")) {
    return std::nullopt;
  }
  http::RequestHead r;
  r.method = std::string(method);
  if (!read_header_lines(rest, r.headers)) return std::nullopt;
  size_t scheme_end = target.find("://");
  if (target.front() != '/' && target != "*" && scheme_end != std::string_view::npos) {
    r.scheme = std::string(target.substr(0, scheme_end));
    std::string_view after = target.substr(scheme_end + 3);
    size_t path_start = after.find_first_of("/?");
    r.authority = std::string(after.substr(0, path_start));
    r.path = path_start == std::string_view::npos ? "/" : std::string(after.substr(path_start));
    if (!r.path.empty() && r.path.front() == '?') r.path.insert(r.path.begin(), '/');
  } else {
    r.scheme = "https";
    r.path = std::string(target);
    if (auto host = http::find_header(r.headers, "host")) r.authority = std::string(*host);
  }
  return r;
}

std::optional<http::ResponseHead> read_http_response_head(std::string_view head) {
  std::string_view line, rest;
  if (!split_start_line(head, line, rest)) return std::nullopt;
  if (line.size() < 12 || (line.substr(0, 9) != "HTTP/1.1 " && line.substr(0, 9) != "HTTP/1.0 ")) {
    return std::nullopt;
  }
  std::string_view code = line.substr(9, 3);
  int status = 0;
  auto [end, ec] = std::from_chars(code.data(), code.data() + 3, status);
  if (ec != std::errc() || end != code.data() + 3 || status < 100 || status > 999) {
    return std::nullopt;
  }
  if (line.size() > 12 && line[12] != ' ') return std::nullopt;
  if (has_control(line)) return std::nullopt;
  http::ResponseHead r;
  r.status = status;
  if (!read_header_lines(rest, r.headers)) return std::nullopt;
  return r;
}

}  // namespace tlsgate::icap
