// Reasons in events are matched by scripts: an errno as its stable symbolic
// name ("econnreset"), not the locale's sentence ("Connection reset by peer").
#pragma once

#include <cctype>
#include <cstring>
#include <string>

namespace tlsgate {

inline std::string errno_name(int err) {
  const char* name = strerrorname_np(err);
  if (name == nullptr) return "errno_" + std::to_string(err);
  std::string out(name);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace tlsgate
