// A bypass candidate (DESIGN.md §7): something that keeps breaking under
// inspection, counted per key:
//   client_reject         one device group, SNI and JA4 (the same client
//                         software refusing our certificate: pinning, or a
//                         device without our CA);
//   upstream_validation   one host whose upstream certificate keeps failing
//                         validation.
// Its id is derived from the key alone, so it is the same in every listing
// and across restarts, and an administrator can accept it by that id.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/ip_address.h"

namespace tlsgate::suggest {

using Clock = std::chrono::system_clock;
using Time = Clock::time_point;

enum class CandidateKind : uint8_t { client_reject, upstream_validation };
const char* to_string(CandidateKind kind);

struct CandidateKey {
  CandidateKind kind = CandidateKind::client_reject;
  Cidr device;      // client_reject: the device group; unused otherwise
  std::string sni;  // the host (for upstream_validation: the SNI, or the address without one)
  std::string ja4;  // client_reject only

  // 10 hex digits, from the key's fields.
  std::string id() const;
  auto operator<=>(const CandidateKey&) const = default;
};

struct Candidate {
  CandidateKey key;
  std::string id;
  uint64_t total = 0;        // sightings ever recorded
  std::vector<Time> recent;  // sightings within the window, oldest first
  Time first_seen{};
  Time last_seen{};
  std::map<std::string, uint64_t> reasons;  // alert or failure class -> sightings
  std::vector<Endpoint> servers;            // where it was seen (bounded)
  bool suggested = false;                   // reached the threshold within the window once
};

}  // namespace tlsgate::suggest
