#include "ctl/event_filter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <thread>

#include "common/unique_fd.h"

namespace tlsgate::ctl {

namespace {

constexpr std::chrono::milliseconds kFollowPoll{200};

bool digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  auto [end, ec] = std::from_chars(s.data() + pos, s.data() + pos + n, v);
  if (ec != std::errc() || end != s.data() + pos + n) return false;
  *out = v;
  return true;
}

// RFC 3339: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM).
std::optional<SysTime> parse_rfc3339(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, &year) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, &month) ||
      s[7] != '-' || !digits(s, 8, 2, &day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(s, 11, 2, &hour) || s[13] != ':' || !digits(s, 14, 2, &minute) || s[16] != ':' ||
      !digits(s, 17, 2, &second)) {
    return std::nullopt;
  }
  size_t pos = 19;
  std::chrono::nanoseconds fraction{0};
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100000000;
    const size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      fraction += std::chrono::nanoseconds((s[pos] - '0') * scale);
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  std::chrono::seconds offset{0};
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, &om)) {
      return std::nullopt;
    }
    offset = std::chrono::hours(oh) + std::chrono::minutes(om);
    if (s[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  // Years past 2200 do not fit the clock's nanoseconds (2262).
  if (pos != s.size() || year < 1970 || year > 2200 || month < 1 || month > 12 || day < 1 ||
      day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(year),
                                        std::chrono::month(static_cast<unsigned>(month)),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  const auto t = std::chrono::sys_days(ymd) + std::chrono::hours(hour) +
                 std::chrono::minutes(minute) + std::chrono::seconds(second) - offset;
  return std::chrono::time_point_cast<SysTime::duration>(t + fraction);
}

}  // namespace

std::optional<SysTime> parse_since(std::string_view text, SysTime now, std::string* error) {
  if (auto t = parse_rfc3339(text)) return t;
  if (text.size() >= 2) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
    const char unit = text.back();
    if (ec == std::errc() && end == text.data() + text.size() - 1 && n >= 0) {
      std::chrono::seconds per{0};
      if (unit == 's') per = std::chrono::seconds(1);
      if (unit == 'm') per = std::chrono::minutes(1);
      if (unit == 'h') per = std::chrono::hours(1);
      if (unit == 'd') per = std::chrono::hours(24);
      if (per.count() != 0 && n <= 3650 * 86400 / per.count()) return now - per * n;
    }
  }
  if (error != nullptr) {
    *error = "'" + std::string(text) +
             "' is neither a duration (90s, 10m, 2h, 3d) nor a time (2024-05-01T10:00:00Z)";
  }
  return std::nullopt;
}

std::optional<SysTime> event_time(const nlohmann::json& event) {
  auto it = event.find("ts");
  if (it == event.end() || !it->is_string()) return std::nullopt;
  return parse_rfc3339(it->get<std::string>());
}

bool EventFilter::matches(const nlohmann::json& event) const {
  if (!event.is_object()) return false;
  if (!types.empty()) {
    auto it = event.find("type");
    if (it == event.end() || !it->is_string() ||
        std::find(types.begin(), types.end(), it->get<std::string>()) == types.end()) {
      return false;
    }
  }
  if (since) {
    auto t = event_time(event);
    if (!t || *t < *since) return false;
  }
  return true;
}

void read_event_lines(const std::filesystem::path& path, bool follow,
                      const std::function<void(std::string_view)>& line,
                      const std::function<bool()>& keep_going) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
  std::string pending;
  off_t offset = 0;
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error("read " + path.string() + ": " + std::strerror(errno));
    if (n > 0) {
      offset += n;
      pending.append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
        line(std::string_view(pending).substr(start, nl - start));
      }
      pending.erase(0, start);  // a line still being written waits for its end
      continue;
    }
    if (!follow || !keep_going()) return;
    std::this_thread::sleep_for(kFollowPoll);
    // Rotated (another file at the path) or truncated: start over there.
    struct stat now_at_path {};
    struct stat ours {};
    if (::stat(path.c_str(), &now_at_path) != 0 || ::fstat(fd.get(), &ours) != 0) continue;
    if (now_at_path.st_ino != ours.st_ino || now_at_path.st_dev != ours.st_dev ||
        ours.st_size < offset) {
      UniqueFd next(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!next) continue;
      fd = std::move(next);
      offset = 0;
      pending.clear();
    }
  }
}

}  // namespace tlsgate::ctl
