#include "ca/ca_time.h"

#include <charconv>
#include <ctime>

namespace tlsgate::tls {
namespace {

// Reads exactly `digits` decimal digits at `pos`.
bool number(std::string_view text, size_t& pos, size_t digits, int& out) {
  if (pos + digits > text.size()) return false;
  auto [end, ec] = std::from_chars(text.data() + pos, text.data() + pos + digits, out);
  if (ec != std::errc() || end != text.data() + pos + digits) return false;
  pos += digits;
  return true;
}

bool literal(std::string_view text, size_t& pos, std::string_view chars) {
  if (pos >= text.size() || chars.find(text[pos]) == std::string_view::npos) return false;
  ++pos;
  return true;
}

}  // namespace

std::string rfc3339(UnixTime t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm utc{};
  gmtime_r(&tt, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

std::optional<UnixTime> parse_rfc3339(std::string_view text) {
  std::tm tm{};
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!number(text, pos, 4, year) || !literal(text, pos, "-") || !number(text, pos, 2, month) ||
      !literal(text, pos, "-") || !number(text, pos, 2, day) || !literal(text, pos, "Tt ") ||
      !number(text, pos, 2, hour) || !literal(text, pos, ":") || !number(text, pos, 2, minute) ||
      !literal(text, pos, ":") || !number(text, pos, 2, second)) {
    return std::nullopt;
  }
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
  }
  int offset = 0;
  if (literal(text, pos, "Zz")) {
    offset = 0;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0;
    if (!number(text, pos, 2, oh) || !literal(text, pos, ":") || !number(text, pos, 2, om) ||
        oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t t = timegm(&tm);
  // timegm normalizes 31 February into March: such a date is not a date.
  std::tm back{};
  gmtime_r(&t, &back);
  if (back.tm_mday != day && second != 60) return std::nullopt;
  return static_cast<UnixTime>(t) - offset;
}

}  // namespace tlsgate::tls
