#include "ca/ca_control.h"

#include <set>

#include "ca/ca_files.h"
#include "tls/openssl_text.h"
#include "tls/x509_fields.h"

namespace tlsgate::tls {
namespace {

using nlohmann::json;

constexpr size_t kMaxPemBytes = 256 << 10;

std::string text_field(const json& request, const char* key, bool required) {
  if (!request.contains(key) || request[key].is_null()) {
    if (required) throw CaCommandError(std::string("missing \"") + key + "\"");
    return {};
  }
  if (!request[key].is_string()) throw CaCommandError(std::string("\"") + key + "\" is a string");
  std::string value = request[key].get<std::string>();
  if (value.size() > kMaxPemBytes) throw CaCommandError(std::string("\"") + key + "\" is too long");
  return value;
}

std::string name_field(const json& request) {
  std::string name = text_field(request, "name", false);
  return name.empty() ? std::string(kDefaultCaName) : name;
}

std::optional<int64_t> integer_field(const json& request, const char* key) {
  if (!request.contains(key) || request[key].is_null()) return std::nullopt;
  if (!request[key].is_number_integer()) {
    throw CaCommandError(std::string("\"") + key + "\" is an integer");
  }
  return request[key].get<int64_t>();
}

std::optional<unsigned> generation_field(const json& request) {
  auto g = integer_field(request, "generation");
  if (!g) return std::nullopt;
  if (*g < 1 || *g > 1'000'000) throw CaCommandError("\"generation\" must be from 1");
  return static_cast<unsigned>(*g);
}

void put_time(json& j, const char* key, const std::optional<UnixTime>& t) {
  if (t) j[key] = rfc3339(*t);
}

json record_json(const CaRecord& r) {
  json j = {{"name", r.name},
            {"generation", r.generation},
            {"id", r.id()},
            {"state", to_string(r.state)},
            {"origin", to_string(r.origin)},
            {"created", rfc3339(r.created)}};
  put_time(j, "activate_at", r.activate_at);
  put_time(j, "activated", r.activated);
  put_time(j, "retire_at", r.retire_at);
  put_time(j, "retired", r.retired);
  return j;
}

json published_json(const PublishedCa& p) {
  json j = record_json(p.record);
  const CaStore& store = p.ca->store;
  j["root"] = certificate_json(store.root());
  j["signer"] = certificate_json(store.signer());
  json chain = json::array();
  for (size_t i = 1; i < store.served_chain().size(); ++i) {
    chain.push_back(certificate_json(store.served_chain()[i].get()));
  }
  j["served_chain"] = chain;  // after the signer: its issuers, then cross-certificates
  json cross = json::array();
  for (const X509Ptr& c : store.cross_certificates()) cross.push_back(certificate_json(c.get()));
  j["cross"] = cross;
  return j;
}

json list(const CaRegistry& registry) {
  json out = json::array();
  const auto published = registry.published();
  for (const CaRecord& r : registry.records()) {
    auto it = std::find_if(published.begin(), published.end(),
                           [&](const PublishedCa& p) { return p.record.id() == r.id(); });
    out.push_back(it != published.end() ? published_json(*it) : record_json(r));
  }
  return {{"cas", out}};
}

std::string client_state(const ClientAdoption& c, bool previous_published) {
  if (c.adopted) return "adopted";
  return previous_published ? "falling_back" : "not_adopted";
}

json rotation_json(const Rotation& r, bool previous_published) {
  json clients = json::array();
  for (const ClientAdoption& c : r.clients) {
    json j = {
        {"client", c.client.to_string()},       {"state", client_state(c, previous_published)},
        {"first_seen", rfc3339(c.first_seen)},  {"rejections", c.rejections},
        {"fallback_served", c.fallback_served}, {"fallback_rejections", c.fallback_rejections}};
    put_time(j, "accepted_at", c.accepted_at);
    put_time(j, "first_rejected", c.first_rejected);
    put_time(j, "last_rejected", c.last_rejected);
    if (!c.last_rejection.empty()) j["last_rejection"] = c.last_rejection;
    clients.push_back(std::move(j));
  }
  return {{"from", r.from},
          {"to", r.to},
          {"started", rfc3339(r.started)},
          {"untracked_clients", r.untracked},
          {"clients", clients}};
}

json status(const CaRegistry& registry, const std::vector<RuleCa>& rules) {
  const auto published = registry.published();
  auto previous_of = [&](const std::string& name) -> const PublishedCa* {
    const PublishedCa* found = nullptr;
    for (const PublishedCa& p : published) {
      if (p.record.name == name && p.record.state == CaState::retiring &&
          (found == nullptr || found->record.generation < p.record.generation)) {
        found = &p;
      }
    }
    return found;
  };
  json rule_rows = json::array();
  std::set<std::string> names;
  for (const RuleCa& rule : rules) {
    const std::string name = rule.ca.empty() ? std::string(kDefaultCaName) : rule.ca;
    names.insert(name);
    json row = {{"rule", rule.rule}, {"ca", name}};
    if (auto active = registry.find(name, std::nullopt)) {
      row["generation"] = active->record.generation;
      row["signer_subject"] = rfc2253(X509_get_subject_name(active->ca->store.signer()));
      row["signer_issuer"] = rfc2253(X509_get_issuer_name(active->ca->store.signer()));
      row["root_subject"] = rfc2253(X509_get_subject_name(active->ca->store.root()));
    } else {
      row["error"] = "no active generation";
    }
    if (const PublishedCa* previous = previous_of(name)) {
      row["previous_generation"] = previous->record.generation;
    }
    row["rotation_complete"] = registry.rotation_complete(name);
    rule_rows.push_back(std::move(row));
  }
  for (const CaRecord& r : registry.records()) names.insert(r.name);

  json cas = json::array();
  for (const std::string& name : names) {
    json ca = {{"name", name}, {"rotation_complete", registry.rotation_complete(name)}};
    auto active = registry.find(name, std::nullopt);
    if (active) ca["active_generation"] = active->record.generation;
    const PublishedCa* previous = previous_of(name);
    if (previous != nullptr) {
      ca["previous_generation"] = previous->record.generation;
      put_time(ca, "previous_retire_at", previous->record.retire_at);
    }
    for (const CaRecord& r : registry.records()) {
      if (r.name == name && r.state == CaState::staged) {
        ca["staged_generation"] = r.generation;
        put_time(ca, "activate_at", r.activate_at);
      }
    }
    auto rotation = registry.rotation(name);
    if (rotation && active && rotation->to == active->record.generation) {
      ca["rotation"] = rotation_json(*rotation, previous != nullptr);
    }
    cas.push_back(std::move(ca));
  }
  return {{"now", rfc3339(registry.now())}, {"rules", rule_rows}, {"cas", cas}};
}

json export_pem(const CaRegistry& registry, const json& request) {
  const bool all = request.value("all", false);
  std::string pem;
  json ids = json::array();
  if (all) {
    std::set<std::string> seen;
    for (const PublishedCa& p : registry.published()) {
      if (!seen.insert(sha256_fingerprint(p.ca->store.root())).second) continue;
      pem += pem_of(p.ca->store.root());
      ids.push_back(p.record.id());
    }
  } else {
    const std::string name = name_field(request);
    const auto generation = generation_field(request);
    auto found = registry.find(name, generation);
    if (!found) {
      throw CaCommandError(generation ? "CA '" + name + "' has no published generation " +
                                            std::to_string(*generation)
                                      : "no active CA named '" + name + "'");
    }
    pem = pem_of(found->ca->store.root());
    ids.push_back(found->record.id());
  }
  return {{"pem", pem}, {"cas", ids}};
}

json changed(const CaRecord& r, std::string_view what) {
  json j = record_json(r);
  j["done"] = what;
  return j;
}

}  // namespace

json certificate_json(X509* cert) {
  return {{"subject", rfc2253(X509_get_subject_name(cert))},
          {"issuer", rfc2253(X509_get_issuer_name(cert))},
          {"sha256", sha256_fingerprint(cert)},
          {"not_before", rfc3339(to_time_t(X509_get0_notBefore(cert)))},
          {"not_after", rfc3339(to_time_t(X509_get0_notAfter(cert)))}};
}

json export_from_state_dir(const std::filesystem::path& state_dir, const json& request) {
  const std::filesystem::path ca_dir = state_dir / "ca";
  std::vector<CaRecord> records;
  std::error_code ec;
  if (std::filesystem::exists(ca_dir / "registry.json", ec)) {
    records = read_registry(ca_dir / "registry.json");
  } else {
    CaRecord first;
    first.name = std::string(kDefaultCaName);
    first.state = CaState::active;
    records.push_back(first);
  }
  const bool all = request.value("all", false);
  const std::string name = name_field(request);
  const auto generation = generation_field(request);
  std::string pem;
  json ids = json::array();
  std::set<std::string> seen;
  for (const CaRecord& r : records) {
    const bool wanted = all ? r.published()
                            : r.name == name && (generation ? r.generation == *generation
                                                            : r.state == CaState::active);
    if (!wanted || !r.published()) continue;
    X509Ptr root =
        read_certificate((r.directory.empty() ? ca_dir : ca_dir / r.directory) / "root.pem");
    if (!seen.insert(sha256_fingerprint(root.get())).second) continue;
    pem += pem_of(root.get());
    ids.push_back(r.id());
  }
  if (ids.empty()) {
    throw CaCommandError("no published CA '" + name + "'" +
                         (generation ? " generation " + std::to_string(*generation) : "") + " in " +
                         ca_dir.string());
  }
  return {{"pem", pem}, {"cas", ids}};
}

bool is_ca_change(std::string_view command) {
  return command == "ca.init" || command == "ca.stage" || command == "ca.import" ||
         command == "ca.activate" || command == "ca.retire";
}

json handle_ca_command(CaRegistry& registry, const json& request,
                       const std::vector<RuleCa>& rules) {
  const std::string command = request.at("command").get<std::string>();
  if (command == "ca.list") return list(registry);
  if (command == "ca.status") return status(registry, rules);
  if (command == "ca.export") return export_pem(registry, request);
  if (command == "ca.init") return changed(registry.init(name_field(request)), "created");
  if (command == "ca.stage") return changed(registry.stage(name_field(request)), "staged");
  if (command == "ca.import") {
    const std::string name = name_field(request);
    const std::string cross = text_field(request, "cross_pem", false);
    if (!cross.empty()) {
      if (request.contains("cert_pem") || request.contains("key_pem")) {
        throw CaCommandError("import either a CA (cert and key) or a cross-certificate");
      }
      json j = changed(registry.import_cross(name, cross), "cross_imported");
      return j;
    }
    CaImportInput input;
    input.cert_pem = text_field(request, "cert_pem", true);
    input.key_pem = text_field(request, "key_pem", true);
    input.passphrase = text_field(request, "passphrase", false);
    input.chain_pem = text_field(request, "chain_pem", false);
    std::vector<std::string> warnings;
    const CaRecord r = registry.import_ca(name, input, &warnings);
    json j = changed(r, r.state == CaState::active ? "imported_active" : "imported_staged");
    j["warnings"] = warnings;
    return j;
  }
  if (command == "ca.activate") {
    const auto at = integer_field(request, "at");
    const CaRecord r = registry.activate(name_field(request), at);
    return changed(r, r.state == CaState::active ? "activated" : "scheduled");
  }
  if (command == "ca.retire") {
    const auto at = integer_field(request, "at");
    const CaRecord r = registry.retire(name_field(request), generation_field(request), at);
    return changed(r, r.state == CaState::retired ? "retired" : "scheduled");
  }
  throw CaCommandError("unknown command '" + command + "'");
}

}  // namespace tlsgate::tls
