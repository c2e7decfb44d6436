#include "http/h1_head.h"

#include <cstring>

#include "http/exchange.h"

namespace tlsgate::http {

namespace {

// A buffer grown for a large head is not kept for the small ones after it.
constexpr size_t kKeptCapacity = 4096;

// RFC 9110 §5.6.2.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The next line of `rest` without its "\n" or "\r\n"; `rest` moves past it.
std::string_view next_line(std::string_view& rest) {
  const size_t lf = rest.find('\n');
  std::string_view line = rest.substr(0, lf);
  rest = lf == std::string_view::npos ? std::string_view{} : rest.substr(lf + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
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

// "5" or a list of equal values ("5, 5", RFC 9110 §8.6); nullopt otherwise.
std::optional<uint64_t> parse_content_length(std::string_view value) {
  std::optional<uint64_t> length;
  bool ok = true;
  for_each_element(value, [&](std::string_view element) {
    auto v = parse_decimal(element);
    if (!v || (length && *length != *v)) ok = false;
    if (v) length = v;
  });
  return ok ? length : std::nullopt;
}

bool is_version(std::string_view v) {
  return v.size() == 8 && v.substr(0, 7) == "HTTP/1." && v[7] >= '0' && v[7] <= '9';
}

bool parse_headers(std::string_view rest, FramingHeaders& out) {
  bool host_seen = false;
  bool connection_upgrade = false;
  bool upgrade_header = false;
  while (!rest.empty()) {
    const std::string_view line = next_line(rest);
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') return false;  // obs-fold (RFC 9112 §5.2)
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) return false;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim_ows(line.substr(colon + 1));
    if (iequals(name, "host")) {
      if (!host_seen) out.host = value;
      host_seen = true;
    } else if (iequals(name, "content-length")) {
      auto length = parse_content_length(value);
      if (!length || (out.content_length && *out.content_length != *length)) return false;
      out.content_length = length;
    } else if (iequals(name, "transfer-encoding")) {
      out.transfer_encoding = true;
      // Only the last coding of the last field decides (RFC 9112 §6.3).
      for_each_element(value, [&](std::string_view c) { out.chunked = iequals(c, "chunked"); });
    } else if (iequals(name, "connection")) {
      for_each_element(value, [&](std::string_view t) {
        if (iequals(t, "upgrade")) connection_upgrade = true;
      });
    } else if (iequals(name, "upgrade")) {
      upgrade_header = upgrade_header || !value.empty();
    }
  }
  out.upgrade = connection_upgrade && upgrade_header;
  return true;
}

// "METHOD target HTTP/1.x" (RFC 9112 §3).
bool parse_request_line(std::string_view line, RequestHead& out) {
  const size_t first = line.find(' ');
  const size_t last = line.rfind(' ');
  if (first == std::string_view::npos || first == last) return false;
  out.method = line.substr(0, first);
  out.target = line.substr(first + 1, last - first - 1);
  if (!is_token(out.method) || out.target.empty() || !is_version(line.substr(last + 1))) {
    return false;
  }
  for (char c : out.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

HeadCollector::Status HeadCollector::feed(std::span<const uint8_t> in, size_t& used) {
  used = 0;
  while (used < in.size()) {
    if (buf_.empty()) {
      while (used < in.size() && (in[used] == '\r' || in[used] == '\n')) ++used;
      if (used == in.size()) return Status::need_more;
    }
    const uint8_t* start = in.data() + used;
    const size_t avail = in.size() - used;
    const auto* lf = static_cast<const uint8_t*>(std::memchr(start, '\n', avail));
    const size_t take = lf != nullptr ? static_cast<size_t>(lf - start) + 1 : avail;
    if (buf_.size() + take > limit_) return Status::over_limit;
    buf_.append(reinterpret_cast<const char*>(start), take);
    used += take;
    if (lf == nullptr) return Status::need_more;
    const std::string_view line(buf_.data() + line_start_, buf_.size() - line_start_);
    if (line == "\n" || line == "\r\n") return Status::complete;
    line_start_ = buf_.size();
  }
  return Status::need_more;
}

void HeadCollector::reset() {
  if (buf_.capacity() > kKeptCapacity) {
    std::string().swap(buf_);
  } else {
    buf_.clear();
  }
  line_start_ = 0;
}

std::optional<RequestHead> parse_request_head(std::string_view head) {
  std::string_view rest = head;
  RequestHead out;
  if (!parse_request_line(next_line(rest), out)) return std::nullopt;
  if (!parse_headers(rest, out.headers)) return std::nullopt;
  return out;
}

bool starts_with_request_line(std::string_view head) {
  RequestHead ignored;
  return parse_request_line(next_line(head), ignored);
}

std::optional<ResponseHead> parse_response_head(std::string_view head) {
  std::string_view rest = head;
  const std::string_view line = next_line(rest);
  // "HTTP/1.1 200" [" " reason]
  if (line.size() < 12 || !is_version(line.substr(0, 8)) || line[8] != ' ') return std::nullopt;
  if (line.size() > 12 && line[12] != ' ') return std::nullopt;
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return std::nullopt;
    status = status * 10 + (line[i] - '0');
  }
  if (status < 100) return std::nullopt;
  ResponseHead out;
  out.status = status;
  if (!parse_headers(rest, out.headers)) return std::nullopt;
  return out;
}

bool could_be_request(std::string_view partial) {
  for (size_t i = 0; i < partial.size(); ++i) {
    if (partial[i] == ' ') return i > 0;
    if (i >= kMaxMethod || !is_tchar(partial[i])) return false;
  }
  return true;
}

}  // namespace tlsgate::http
