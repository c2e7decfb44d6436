// Exceptions granted by "continue" on a warning page (DESIGN.md §5): for a
// while, this client may reach this host while it presents exactly this
// certificate. Shared by all workers (thread-safe), bounded, in memory only
// (a restart forgets them: the user sees the warning again).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "common/ip_address.h"

namespace tlsgate::pages {

class ExceptionStore {
 public:
  using Clock = std::chrono::system_clock;

  // At most `capacity` exceptions (>= 1): when full, expired ones go first,
  // then the one that would expire soonest.
  explicit ExceptionStore(size_t capacity = 4096);

  // Host names are compared ASCII case-insensitively; fingerprints are the
  // upstream leaf's SHA-256 in hex (case-insensitive). Granting again
  // replaces the expiry.
  void grant(const IpAddress& client, std::string_view host, std::string_view fingerprint_sha256,
             Clock::time_point expires);
  bool allowed(const IpAddress& client, std::string_view host, std::string_view fingerprint_sha256,
               Clock::time_point now = Clock::now()) const;
  // Withdraws every exception (e.g. when the policy changes).
  void clear();
  size_t size() const;

 private:
  using Key = std::tuple<IpAddress, std::string, std::string>;
  static Key key_of(const IpAddress& client, std::string_view host, std::string_view fingerprint);

  const size_t capacity_;
  mutable std::mutex mutex_;
  std::map<Key, Clock::time_point> expiry_;
};

}  // namespace tlsgate::pages
