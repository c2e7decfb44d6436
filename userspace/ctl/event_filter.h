// `tlsgatectl events`: which lines of the event file to show (--type,
// --since) and reading the file, following it as it grows (--follow).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tlsgate::ctl {

using SysTime = std::chrono::system_clock::time_point;

// "90s", "10m", "2h", "3d" before `now`, or an RFC 3339 time
// ("2024-05-01T10:00:00Z", fractions and offsets allowed). nullopt with
// *error set otherwise.
std::optional<SysTime> parse_since(std::string_view text, SysTime now, std::string* error);

// An event's "ts" (as the event log writes it); nullopt when absent or bad.
std::optional<SysTime> event_time(const nlohmann::json& event);

struct EventFilter {
  std::vector<std::string> types;  // empty: every type
  std::optional<SysTime> since;
  bool matches(const nlohmann::json& event) const;
};

// Calls `line` for each complete line of `path`; with `follow`, keeps
// reading as the file grows (and from the start of a new file when it is
// rotated or truncated) until `keep_going` returns false. Throws
// std::runtime_error when the file cannot be opened at the start.
void read_event_lines(const std::filesystem::path& path, bool follow,
                      const std::function<void(std::string_view)>& line,
                      const std::function<bool()>& keep_going);

}  // namespace tlsgate::ctl
