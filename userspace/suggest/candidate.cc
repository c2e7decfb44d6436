#include "suggest/candidate.h"

#include <cstdio>

namespace tlsgate::suggest {

const char* to_string(CandidateKind kind) {
  return kind == CandidateKind::client_reject ? "client_reject" : "upstream_validation";
}

// FNV-1a over the key's fields, each followed by a separator that cannot
// occur in it: stable across builds and restarts, unlike std::hash.
std::string CandidateKey::id() const {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ull;
    }
    h ^= 0xff;
    h *= 0x100000001b3ull;
  };
  mix(to_string(kind));
  mix(kind == CandidateKind::client_reject ? device.to_string() : "");
  mix(sni);
  mix(ja4);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf, 10);
}

}  // namespace tlsgate::suggest
