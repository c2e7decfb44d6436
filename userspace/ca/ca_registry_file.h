// The CA registry's record of every CA generation (DESIGN.md §6), kept in
// <state_dir>/ca/registry.json (replaced in one step on every change; no key
// material). A CA is a name ("default", or one a rule names); each name has
// generations 1, 2, ... each in one state:
//   staged    published for clients to install, not signing (yet)
//   active    signs forged leaves for the rules that use this name; one per name
//   retiring  replaced by a newer generation; still published, and still
//             signs for clients that rejected the new one, until retire_at
//   retired   neither published nor signing (kept on disk)
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ca/ca_import.h"
#include "ca/ca_time.h"
#include "common/ca_name.h"

namespace tlsgate::tls {

enum class CaState { staged, active, retiring, retired };
std::string_view to_string(CaState s);
std::optional<CaState> parse_ca_state(std::string_view text);

using tlsgate::valid_ca_name;  // common/ca_name.h

struct CaRecord {
  std::string name;
  unsigned generation = 1;
  CaState state = CaState::staged;
  CaOrigin origin = CaOrigin::generated;
  // Relative to <state_dir>/ca; "" is <state_dir>/ca itself, where the first
  // CA (the layout before the registry existed) stays.
  std::string directory;
  UnixTime created = 0;
  std::optional<UnixTime> activate_at;  // staged, activation scheduled
  std::optional<UnixTime> activated;
  std::optional<UnixTime> retire_at;  // retiring: published until then
  std::optional<UnixTime> retired;

  // "default.2": names the generation in messages, events and URLs.
  std::string id() const { return name + "." + std::to_string(generation); }
  bool published() const { return state != CaState::retired; }
  bool operator==(const CaRecord&) const = default;
};

// Throws std::runtime_error naming the file and what is wrong (unknown
// state, duplicate generation, two active generations of a name, ...).
std::vector<CaRecord> read_registry(const std::filesystem::path& file);
void write_registry(const std::filesystem::path& file, const std::vector<CaRecord>& records);

// The checks read_registry applies: "" or what is wrong.
std::string registry_problem(const std::vector<CaRecord>& records);

}  // namespace tlsgate::tls
