// A `[[threat_list]]` of tlsgate.toml (DESIGN.md §4a): a file of names or
// URLs to block, loaded by the threat module (threat/threat_lists.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace tlsgate::policy {

// domains: an entry matches the name and every name below it;
// hosts:   an entry matches that name only (plain names, or hosts-file lines
//          "0.0.0.0 name ...");
// urls:    an entry matches a request's host and path ("evil.example/x/y",
//          scheme optional; a path ending in '/' covers everything below it).
enum class ThreatListFormat : uint8_t { domains, hosts, urls };

std::string_view to_string(ThreatListFormat format);
std::optional<ThreatListFormat> parse_threat_list_format(std::string_view text);

struct ThreatListSpec {
  std::string name;  // unique among the lists; shown on the block page and in events
  std::filesystem::path file;
  ThreatListFormat format = ThreatListFormat::domains;
  int source_line = 0;  // in the config file, for messages

  bool operator==(const ThreatListSpec&) const = default;
};

}  // namespace tlsgate::policy
