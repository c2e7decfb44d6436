#include "http/h1_syntax.h"

#include <cstring>
#include <vector>

namespace tlsgate::http {

namespace {

// A buffer grown for a large head is not kept for the small ones after it.
constexpr size_t kKeptCapacity = 4096;
constexpr size_t kMaxFields = 256;

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls `each` with every trimmed element of a comma-separated list.
template <typename Fn>
void for_each_element(std::string_view list, Fn each) {
  while (true) {
    const size_t comma = list.find(',');
    each(trim_ows(list.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

std::optional<uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;  // 18 digits cannot overflow
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// Splits a head into lines, each of which must end in CRLF.
class Lines {
 public:
  explicit Lines(std::string_view head) : rest_(head) {}
  // The next line without its CRLF; nullopt at the end. Sets error_ for a
  // bare LF or CR.
  std::optional<std::string_view> next() {
    if (rest_.empty()) return std::nullopt;
    const size_t lf = rest_.find('\n');
    if (lf == std::string_view::npos || lf == 0 || rest_[lf - 1] != '\r') {
      error_ = lf == std::string_view::npos ? "unterminated_line" : "bare_lf";
      return std::nullopt;
    }
    std::string_view line = rest_.substr(0, lf - 1);
    rest_.remove_prefix(lf + 1);
    if (line.find('\r') != std::string_view::npos) {
      error_ = "bare_cr";
      return std::nullopt;
    }
    return line;
  }
  const char* error() const { return error_; }

 private:
  std::string_view rest_;
  const char* error_ = nullptr;
};

// What both kinds of message say about their framing and connection.
struct FieldFacts {
  unsigned content_lengths = 0;
  std::optional<uint64_t> content_length;
  bool bad_content_length = false;
  bool transfer_encoding = false;
  bool chunked_last = false;
  bool bad_transfer_encoding = false;
  bool close = false;
  bool keep_alive = false;
  bool upgrade_token = false;
  bool upgrade_field = false;
  unsigned hosts = 0;
  std::string_view host;
  bool expect_continue = false;
};

void note_transfer_coding(FieldFacts& f, std::string_view coding) {
  if (!is_token(coding)) {
    f.bad_transfer_encoding = true;
    return;
  }
  if (f.chunked_last) f.bad_transfer_encoding = true;  // chunked must be the last coding
  f.chunked_last = iequals(coding, "chunked");
}

void note_field(FieldFacts& f, std::string_view name, std::string_view value) {
  if (iequals(name, "content-length")) {
    for_each_element(value, [&](std::string_view v) {
      ++f.content_lengths;
      f.content_length = parse_decimal(v);
      if (!f.content_length) f.bad_content_length = true;
    });
  } else if (iequals(name, "transfer-encoding")) {
    f.transfer_encoding = true;
    for_each_element(value, [&](std::string_view v) { note_transfer_coding(f, v); });
  } else if (iequals(name, "connection")) {
    for_each_element(value, [&](std::string_view v) {
      if (iequals(v, "close")) f.close = true;
      if (iequals(v, "keep-alive")) f.keep_alive = true;
      if (iequals(v, "upgrade")) f.upgrade_token = true;
    });
  } else if (iequals(name, "upgrade")) {
    f.upgrade_field = true;
  } else if (iequals(name, "host")) {
    ++f.hosts;
    f.host = value;
  } else if (iequals(name, "expect")) {
    f.expect_continue = iequals(value, "100-continue");
  }
}

// Reads the field lines after the start line into `headers`.
const char* read_fields(Lines& lines, HeaderList& headers, FieldFacts& facts) {
  while (true) {
    std::optional<std::string_view> line = lines.next();
    if (!line) return lines.error() ? lines.error() : "unterminated_head";
    if (line->empty()) return nullptr;
    if (line->front() == ' ' || line->front() == '\t') return "obs_fold";
    const size_t colon = line->find(':');
    if (colon == std::string_view::npos) return "bad_field";
    std::string_view name = line->substr(0, colon);
    if (!is_token(name)) return "bad_field_name";  // includes whitespace before the colon
    std::string_view value = trim_ows(line->substr(colon + 1));
    if (!valid_field_value(value)) return "control_character";
    if (headers.size() == kMaxFields) return "too_many_fields";
    headers.push_back({std::string(name), std::string(value)});
    note_field(facts, name, value);
  }
}

// "HTTP/1.1" or "HTTP/1.0".
std::optional<int> parse_version(std::string_view v) {
  if (v == "HTTP/1.1") return 1;
  if (v == "HTTP/1.0") return 0;
  return std::nullopt;
}

// RFC 3986 reg-name / IP-literal with an optional port: no userinfo, path,
// query or whitespace.
bool valid_host(std::string_view host) {
  if (host.empty()) return false;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::strchr("-._~%!$&'()*+,;=:[]", c) != nullptr;
    if (!ok || c == '\0') return false;
  }
  return true;
}

bool visible_ascii(std::string_view s) {
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return !s.empty();
}

// Fills method, authority and path from the request target (RFC 9112 §3.2).
const char* read_target(std::string_view method, std::string_view target, RequestHead& head,
                        std::optional<std::string_view>& target_authority) {
  if (!visible_ascii(target)) return "bad_target";
  if (method == "CONNECT") {
    if (target.find('/') != std::string_view::npos || !valid_host(target)) return "bad_target";
    target_authority = target;
    head.path = std::string(target);
    return nullptr;
  }
  if (target.front() == '/') {
    head.path = std::string(target);
    return nullptr;
  }
  if (target == "*") {
    if (method != "OPTIONS") return "bad_target";
    head.path = "*";
    return nullptr;
  }
  for (std::string_view scheme : {"https://", "http://"}) {
    if (target.size() > scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
      std::string_view rest = target.substr(scheme.size());
      const size_t end = rest.find_first_of("/?");
      std::string_view authority = rest.substr(0, end);
      if (!valid_host(authority)) return "bad_target";
      target_authority = authority;
      head.path = end == std::string_view::npos ? "/" : std::string(rest.substr(end));
      if (head.path.front() == '?') head.path.insert(0, "/");
      return nullptr;
    }
  }
  return "bad_target";
}

const char* framing_error(const FieldFacts& f) {
  if (f.bad_content_length) return "bad_content_length";
  if (f.content_lengths > 1) return "repeated_content_length";
  if (f.transfer_encoding && f.content_lengths > 0) return "content_length_with_transfer_encoding";
  if (f.bad_transfer_encoding) return "bad_transfer_encoding";
  return nullptr;
}

}  // namespace

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool valid_field_value(std::string_view value) {
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

// ---------------------------------------------------------------- collector

H1HeadCollector::Status H1HeadCollector::feed(std::span<const uint8_t> in, size_t& used) {
  used = 0;
  while (used < in.size()) {
    const auto* start = in.data() + used;
    const auto* lf = static_cast<const uint8_t*>(std::memchr(start, '\n', in.size() - used));
    const size_t take = lf == nullptr ? in.size() - used : static_cast<size_t>(lf - start) + 1;
    if (buf_.size() + take > limit_) {
      used += take;
      return Status::over_limit;
    }
    buf_.append(reinterpret_cast<const char*>(start), take);
    used += take;
    if (lf == nullptr) return Status::need_more;
    std::string_view line = std::string_view(buf_).substr(line_start_);
    const bool empty_line = line == "\n" || line == "\r\n";
    if (empty_line && line_start_ == 0) {  // before the start line: skipped
      buf_.clear();
      continue;
    }
    line_start_ = buf_.size();
    if (empty_line) return Status::complete;
  }
  return Status::need_more;
}

void H1HeadCollector::reset() {
  if (buf_.capacity() > kKeptCapacity) {
    std::string().swap(buf_);
  } else {
    buf_.clear();
  }
  line_start_ = 0;
}

// ---------------------------------------------------------------- requests

std::variant<H1Request, H1Error> parse_h1_request(std::string_view text) {
  H1Request req;
  Lines lines(text);
  std::optional<std::string_view> start = lines.next();
  if (!start) return H1Error{lines.error() ? lines.error() : "empty"};
  const size_t sp1 = start->find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : start->find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || start->find(' ', sp2 + 1) != std::string_view::npos) {
    return H1Error{"bad_request_line"};
  }
  std::string_view method = start->substr(0, sp1);
  std::string_view target = start->substr(sp1 + 1, sp2 - sp1 - 1);
  std::optional<int> version = parse_version(start->substr(sp2 + 1));
  if (!is_token(method)) return H1Error{"bad_method"};
  if (!version) return H1Error{"bad_version"};
  req.minor_version = *version;
  req.head.method = std::string(method);
  req.head.scheme = "https";
  std::optional<std::string_view> target_authority;
  if (const char* e = read_target(method, target, req.head, target_authority)) return H1Error{e};

  FieldFacts f;
  if (const char* e = read_fields(lines, req.head.headers, f)) return H1Error{e};
  if (const char* e = framing_error(f)) return H1Error{e};
  if (f.transfer_encoding && (req.minor_version == 0 || !f.chunked_last)) {
    return H1Error{"bad_transfer_encoding"};
  }
  if (f.hosts > 1) return H1Error{"repeated_host"};
  if (f.hosts == 0 && req.minor_version == 1) return H1Error{"missing_host"};
  if (f.hosts == 1 && !valid_host(f.host)) return H1Error{"bad_host"};
  if (target_authority && f.hosts == 1 && !iequals(*target_authority, f.host)) {
    return H1Error{"host_mismatch"};
  }
  req.head.authority = std::string(target_authority ? *target_authority : f.host);

  if (f.transfer_encoding) {
    req.framing = BodyFraming::chunked;
  } else if (f.content_length && *f.content_length > 0) {
    req.framing = BodyFraming::length;
    req.content_length = *f.content_length;
  }
  req.keep_alive = req.minor_version == 1 ? !f.close : (f.keep_alive && !f.close);
  req.expect_continue = f.expect_continue && req.minor_version == 1;
  req.upgrade = f.upgrade_token && f.upgrade_field;
  return req;
}

// ---------------------------------------------------------------- responses

std::variant<H1Response, H1Error> parse_h1_response(std::string_view text) {
  H1Response resp;
  Lines lines(text);
  std::optional<std::string_view> start = lines.next();
  if (!start) return H1Error{lines.error() ? lines.error() : "empty"};
  // "HTTP/1.1 200 OK"; the reason phrase may be empty, its space too.
  std::optional<int> version = parse_version(start->substr(0, 8));
  if (!version || start->size() < 12 || (*start)[8] != ' ') return H1Error{"bad_status_line"};
  std::string_view code = start->substr(9, 3);
  if (code[0] < '1' || code[0] > '9' || !parse_decimal(code)) return H1Error{"bad_status_line"};
  if (start->size() > 12 && (*start)[12] != ' ') return H1Error{"bad_status_line"};
  std::string_view reason = start->size() > 13 ? start->substr(13) : std::string_view{};
  if (!valid_field_value(reason)) return H1Error{"control_character"};
  resp.minor_version = *version;
  resp.head.status = static_cast<int>(*parse_decimal(code));
  resp.reason = std::string(reason);

  FieldFacts f;
  if (const char* e = read_fields(lines, resp.head.headers, f)) return H1Error{e};
  if (const char* e = framing_error(f)) return H1Error{e};
  const int status = resp.head.status;
  if (status < 200 || status == 204 || status == 304) {
    resp.framing = BodyFraming::none;
  } else if (f.transfer_encoding) {
    resp.framing = f.chunked_last ? BodyFraming::chunked : BodyFraming::until_close;
  } else if (f.content_length) {
    resp.framing = *f.content_length > 0 ? BodyFraming::length : BodyFraming::none;
    resp.content_length = *f.content_length;
  } else {
    resp.framing = BodyFraming::until_close;
  }
  resp.keep_alive = resp.minor_version == 1 ? !f.close : (f.keep_alive && !f.close);
  if (resp.framing == BodyFraming::until_close) resp.keep_alive = false;
  return resp;
}

}  // namespace tlsgate::http
