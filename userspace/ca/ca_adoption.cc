#include "ca/ca_adoption.h"

#include <algorithm>
#include <stdexcept>

namespace tlsgate::tls {
namespace {

using nlohmann::json;

constexpr int kFormatVersion = 1;

void put_time(json& j, const char* key, const std::optional<UnixTime>& t) {
  if (t) j[key] = rfc3339(*t);
}

UnixTime need_time(const json& j, const char* key) {
  auto t = parse_rfc3339(j.at(key).get<std::string>());
  if (!t) throw std::runtime_error(std::string("'") + key + "' is not an RFC 3339 time");
  return *t;
}

std::optional<UnixTime> get_time(const json& j, const char* key) {
  if (!j.contains(key)) return std::nullopt;
  return need_time(j, key);
}

json client_json(const ClientAdoption& c) {
  json j = {{"client", c.client.to_string()},
            {"first_seen", rfc3339(c.first_seen)},
            {"rejections", c.rejections},
            {"fallback_served", c.fallback_served},
            {"fallback_rejections", c.fallback_rejections},
            {"last_rejection", c.last_rejection},
            {"last_trial", rfc3339(c.last_trial)},
            {"adopted", c.adopted}};
  put_time(j, "accepted_at", c.accepted_at);
  put_time(j, "first_rejected", c.first_rejected);
  put_time(j, "last_rejected", c.last_rejected);
  return j;
}

ClientAdoption client_from(const json& j) {
  ClientAdoption c;
  auto address = IpAddress::parse(j.at("client").get<std::string>());
  if (!address) throw std::runtime_error("bad client address " + j["client"].dump());
  c.client = *address;
  c.first_seen = need_time(j, "first_seen");
  c.accepted_at = get_time(j, "accepted_at");
  c.first_rejected = get_time(j, "first_rejected");
  c.last_rejected = get_time(j, "last_rejected");
  c.rejections = j.at("rejections").get<uint64_t>();
  c.fallback_served = j.at("fallback_served").get<uint64_t>();
  c.fallback_rejections = j.at("fallback_rejections").get<uint64_t>();
  c.last_rejection = j.at("last_rejection").get<std::string>();
  c.last_trial = need_time(j, "last_trial");
  c.adopted = j.at("adopted").get<bool>();
  return c;
}

}  // namespace

size_t Rotation::not_adopted() const {
  return static_cast<size_t>(
      std::count_if(clients.begin(), clients.end(), [](const auto& c) { return !c.adopted; }));
}

void AdoptionTable::start_rotation(const std::string& ca, unsigned from, unsigned to,
                                   UnixTime now) {
  std::lock_guard lock(mu_);
  Table& t = tables_[ca];
  t.rotation = Rotation{ca, from, to, now, {}, 0};
  t.clients.clear();
  dirty_ = true;
}

Rotation AdoptionTable::snapshot(const Table& t) const {
  Rotation r = t.rotation;
  r.clients.reserve(t.clients.size());
  for (const auto& [address, c] : t.clients) r.clients.push_back(c);
  return r;
}

std::optional<Rotation> AdoptionTable::rotation(std::string_view ca) const {
  std::lock_guard lock(mu_);
  auto it = tables_.find(ca);
  if (it == tables_.end()) return std::nullopt;
  return snapshot(it->second);
}

std::vector<Rotation> AdoptionTable::rotations() const {
  std::lock_guard lock(mu_);
  std::vector<Rotation> out;
  for (const auto& [name, t] : tables_) out.push_back(snapshot(t));
  return out;
}

std::optional<size_t> AdoptionTable::not_adopted(std::string_view ca, unsigned to) const {
  std::lock_guard lock(mu_);
  auto it = tables_.find(ca);
  if (it == tables_.end() || it->second.rotation.to != to) return std::nullopt;
  return static_cast<size_t>(std::count_if(it->second.clients.begin(), it->second.clients.end(),
                                           [](const auto& c) { return !c.second.adopted; }));
}

bool AdoptionTable::use_previous(std::string_view ca, unsigned to, const IpAddress& client,
                                 UnixTime now, std::chrono::seconds retry) {
  std::lock_guard lock(mu_);
  auto table = tables_.find(ca);
  if (table == tables_.end() || table->second.rotation.to != to) return false;
  auto it = table->second.clients.find(client);
  if (it == table->second.clients.end() || it->second.adopted) return false;
  if (now - it->second.last_trial >= retry.count()) {
    it->second.last_trial = now;  // this connection is the trial
    dirty_ = true;
    return false;
  }
  return true;
}

AdoptionOutcome AdoptionTable::report(std::string_view ca, unsigned generation, bool previous,
                                      const IpAddress& client,
                                      std::optional<std::string_view> rejection, UnixTime now) {
  std::lock_guard lock(mu_);
  AdoptionOutcome outcome;
  auto table = tables_.find(ca);
  if (table == tables_.end()) return outcome;
  Table& t = table->second;
  const bool with_new = !previous && generation == t.rotation.to;
  if (!with_new && !(previous && generation == t.rotation.from)) return outcome;
  auto it = t.clients.find(client);
  if (it == t.clients.end()) {
    if (t.clients.size() >= max_clients_) {
      ++t.rotation.untracked;
      return outcome;
    }
    ClientAdoption fresh;
    fresh.client = client;
    fresh.first_seen = now;
    // A client first seen on the previous CA never rejected the new one.
    fresh.adopted = !with_new && !rejection;
    it = t.clients.emplace(client, fresh).first;
  }
  ClientAdoption& c = it->second;
  dirty_ = true;
  if (with_new && !rejection) {
    outcome.first_acceptance = !c.accepted_at.has_value();
    if (!c.accepted_at) c.accepted_at = now;
    c.adopted = true;
  } else if (with_new) {
    outcome.first_rejection = !c.first_rejected.has_value();
    if (!c.first_rejected) c.first_rejected = now;
    c.last_rejected = now;
    c.last_trial = now;
    ++c.rejections;
    c.last_rejection = std::string(*rejection);
    c.adopted = false;
  } else if (!rejection) {
    ++c.fallback_served;
  } else {
    ++c.fallback_rejections;
    c.last_rejection = std::string(*rejection);
  }
  return outcome;
}

bool AdoptionTable::dirty() const {
  std::lock_guard lock(mu_);
  return dirty_;
}

json AdoptionTable::to_json() {
  std::lock_guard lock(mu_);
  json rotations = json::array();
  for (const auto& [name, t] : tables_) {
    json clients = json::array();
    for (const auto& [address, c] : t.clients) clients.push_back(client_json(c));
    rotations.push_back({{"ca", name},
                         {"from", t.rotation.from},
                         {"to", t.rotation.to},
                         {"started", rfc3339(t.rotation.started)},
                         {"untracked", t.rotation.untracked},
                         {"clients", clients}});
  }
  dirty_ = false;
  return {{"version", kFormatVersion}, {"rotations", rotations}};
}

void AdoptionTable::load(const json& doc) {
  std::map<std::string, Table, std::less<>> tables;
  try {
    if (doc.at("version").get<int>() != kFormatVersion) {
      throw std::runtime_error("unsupported version " + doc["version"].dump());
    }
    for (const json& r : doc.at("rotations")) {
      Table t;
      t.rotation.ca = r.at("ca").get<std::string>();
      t.rotation.from = r.at("from").get<unsigned>();
      t.rotation.to = r.at("to").get<unsigned>();
      t.rotation.started = need_time(r, "started");
      t.rotation.untracked = r.at("untracked").get<uint64_t>();
      for (const json& c : r.at("clients")) {
        ClientAdoption client = client_from(c);
        if (t.clients.size() < max_clients_) t.clients.emplace(client.client, std::move(client));
      }
      tables[t.rotation.ca] = std::move(t);
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(e.what());
  }
  std::lock_guard lock(mu_);
  tables_ = std::move(tables);
  dirty_ = false;
}

}  // namespace tlsgate::tls
