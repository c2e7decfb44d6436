// The control protocol between tlsgatectl and tlsgated (DESIGN.md §8): over
// a unix stream socket, each request is one JSON object on one line,
//   {"command": "rules.add", ...arguments}
// and each answer one JSON object on one line,
//   {"ok": true, "result": ...}   or   {"ok": false, "error": "why"}.
// A connection may carry several requests in turn.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tlsgate::control {

// Longest request the daemon reads; answers (flow listings) may be longer.
inline constexpr size_t kMaxRequestBytes = 1 << 20;
inline constexpr size_t kMaxResponseBytes = 64 << 20;

nlohmann::json ok_response(nlohmann::json result);
nlohmann::json error_response(std::string_view message);

// One line of JSON: compact, invalid UTF-8 replaced, ending in '\n'.
std::string encode_line(const nlohmann::json& message);

// Reads '\n'-terminated lines from a socket or pipe, at most `max_bytes`
// each. Throws std::runtime_error on a read error, a timeout (SO_RCVTIMEO)
// or a line that is too long.
class LineReader {
 public:
  LineReader(int fd, size_t max_bytes) : fd_(fd), max_bytes_(max_bytes) {}
  // The next line without its '\n'; nullopt at end of stream.
  std::optional<std::string> next();

 private:
  int fd_;
  size_t max_bytes_;
  std::string buffer_;
  bool eof_ = false;
};

// Writes all of `data`; throws std::runtime_error on failure.
void write_all(int fd, std::string_view data);

}  // namespace tlsgate::control
