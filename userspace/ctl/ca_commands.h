// `tlsgatectl ca ...` (DESIGN.md §6): the control requests built from the
// command line and the administrator's files, and the daemon's answers as
// text. Key files are read here and sent to the daemon over the control
// socket (the daemon owns the state directory); nothing is printed from them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tlsgate::ctl {

// `--at`: "now", "+90s", "+10m", "+2h", "+3d" after `now`, or an RFC 3339
// time ("2025-03-01T12:00:00Z", offsets allowed); seconds since the epoch.
// nullopt with *error set otherwise.
std::optional<int64_t> parse_at(std::string_view text, int64_t now, std::string* error);

struct CaImportFiles {
  std::string name;
  std::filesystem::path cert, key, passphrase, chain;  // empty: not given
  std::filesystem::path cross;
};

// The ca.import request; throws std::runtime_error naming a file that cannot
// be read or a wrong combination (a CA is --cert and --key, or --cross alone).
nlohmann::json ca_import_request(const CaImportFiles& files);

// The passphrase in a file: its first line, without the line end.
std::string read_passphrase_file(const std::filesystem::path& path);

std::string format_ca_list(const nlohmann::json& answer);
std::string format_ca_status(const nlohmann::json& answer);
// One line for ca init / stage / import / activate / retire.
std::string format_ca_change(const nlohmann::json& answer);

}  // namespace tlsgate::ctl
