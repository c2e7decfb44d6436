// The names CAs go by (`ca = "corp"` in a rule, `tlsgatectl ca init corp`):
// one definition shared by the config reader and the CA registry.
#pragma once

#include <string_view>

namespace tlsgate {

// 1–32 characters of a-z, 0-9, '-' and '_', starting with a letter or digit.
inline bool valid_ca_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front())) return false;
  for (char c : name) {
    if (!alnum(c) && c != '-' && c != '_') return false;
  }
  return true;
}

}  // namespace tlsgate
