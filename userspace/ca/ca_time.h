// Times of the CA registry (activation, retirement, adoption): UTC seconds
// since the epoch, written as RFC 3339 ("2025-03-01T12:00:00Z").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tlsgate::tls {

using UnixTime = int64_t;

std::string rfc3339(UnixTime t);
// "2025-03-01T12:00:00Z", "2025-03-01T13:00:00+01:00", "2025-03-01 12:00:00Z",
// fractional seconds allowed (dropped); nullopt for anything else.
std::optional<UnixTime> parse_rfc3339(std::string_view text);

}  // namespace tlsgate::tls
