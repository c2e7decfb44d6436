#include "ca/ca_registry_file.h"

#include <map>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "ca/ca_files.h"

namespace tlsgate::tls {
namespace {

using nlohmann::json;

constexpr size_t kMaxRegistryBytes = 1 << 20;
constexpr int kFormatVersion = 1;

void put_time(json& j, const char* key, const std::optional<UnixTime>& t) {
  if (t) j[key] = rfc3339(*t);
}

std::optional<UnixTime> get_time(const json& j, const char* key) {
  if (!j.contains(key)) return std::nullopt;
  auto t = j[key].is_string() ? parse_rfc3339(j[key].get<std::string>()) : std::nullopt;
  if (!t) throw std::runtime_error(std::string("'") + key + "' is not an RFC 3339 time");
  return t;
}

std::optional<CaOrigin> parse_origin(std::string_view text) {
  for (CaOrigin o :
       {CaOrigin::generated, CaOrigin::imported_root, CaOrigin::imported_intermediate}) {
    if (to_string(o) == text) return o;
  }
  return std::nullopt;
}

CaRecord record_from(const json& j) {
  CaRecord r;
  r.name = j.at("name").get<std::string>();
  r.generation = j.at("generation").get<unsigned>();
  auto state = parse_ca_state(j.at("state").get<std::string>());
  if (!state) throw std::runtime_error("unknown state '" + j["state"].get<std::string>() + "'");
  r.state = *state;
  auto origin = parse_origin(j.at("origin").get<std::string>());
  if (!origin) throw std::runtime_error("unknown origin '" + j["origin"].get<std::string>() + "'");
  r.origin = *origin;
  r.directory = j.at("directory").get<std::string>();
  auto created = get_time(j, "created");
  if (!created) throw std::runtime_error("no 'created' time");
  r.created = *created;
  r.activate_at = get_time(j, "activate_at");
  r.activated = get_time(j, "activated");
  r.retire_at = get_time(j, "retire_at");
  r.retired = get_time(j, "retired");
  return r;
}

json record_json(const CaRecord& r) {
  json j = {{"name", r.name},
            {"generation", r.generation},
            {"state", to_string(r.state)},
            {"origin", to_string(r.origin)},
            {"directory", r.directory},
            {"created", rfc3339(r.created)}};
  put_time(j, "activate_at", r.activate_at);
  put_time(j, "activated", r.activated);
  put_time(j, "retire_at", r.retire_at);
  put_time(j, "retired", r.retired);
  return j;
}

bool safe_directory(const std::string& dir) {
  if (dir.empty()) return true;
  const std::filesystem::path p(dir);
  if (p.is_absolute()) return false;
  for (const auto& part : p) {
    if (part == ".." || part == ".") return false;
  }
  return true;
}

}  // namespace

std::string_view to_string(CaState s) {
  switch (s) {
    case CaState::staged:
      return "staged";
    case CaState::active:
      return "active";
    case CaState::retiring:
      return "retiring";
    case CaState::retired:
      return "retired";
  }
  return "retired";
}

std::optional<CaState> parse_ca_state(std::string_view text) {
  for (CaState s : {CaState::staged, CaState::active, CaState::retiring, CaState::retired}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

std::string registry_problem(const std::vector<CaRecord>& records) {
  std::set<std::string> ids;
  std::set<std::string> directories;
  std::map<std::string, int> active;
  std::map<std::string, int> staged;
  for (const CaRecord& r : records) {
    if (!valid_ca_name(r.name)) return "invalid CA name '" + r.name + "'";
    if (r.generation == 0) return r.name + ": generation 0";
    if (!ids.insert(r.id()).second) return r.id() + " is listed twice";
    if (!safe_directory(r.directory)) return r.id() + ": directory '" + r.directory + "'";
    if (!directories.insert(r.directory).second) {
      return r.id() + " shares its directory with another generation";
    }
    if (r.state == CaState::active && ++active[r.name] > 1) {
      return "CA '" + r.name + "' has two active generations";
    }
    if (r.state == CaState::staged && ++staged[r.name] > 1) {
      return "CA '" + r.name + "' has two staged generations";
    }
  }
  return {};
}

std::vector<CaRecord> read_registry(const std::filesystem::path& file) {
  const std::string text = read_small_file(file, kMaxRegistryBytes);
  std::vector<CaRecord> records;
  try {
    const json doc = json::parse(text);
    if (doc.at("version").get<int>() != kFormatVersion) {
      throw std::runtime_error("unsupported version " + doc["version"].dump());
    }
    for (const json& j : doc.at("cas")) records.push_back(record_from(j));
  } catch (const std::exception& e) {
    throw std::runtime_error(file.string() + ": " + e.what());
  }
  if (std::string problem = registry_problem(records); !problem.empty()) {
    throw std::runtime_error(file.string() + ": " + problem);
  }
  return records;
}

void write_registry(const std::filesystem::path& file, const std::vector<CaRecord>& records) {
  json doc = {{"version", kFormatVersion}, {"cas", json::array()}};
  for (const CaRecord& r : records) doc["cas"].push_back(record_json(r));
  replace_file(file, doc.dump(2) + "\n", 0600);
}

}  // namespace tlsgate::tls
