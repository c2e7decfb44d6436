#include "ca/ca_registry.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <system_error>
#include <tuple>

#include "ca/ca_files.h"
#include "tls/openssl_text.h"

namespace tlsgate::tls {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kRegistryFile = "registry.json";
constexpr const char* kAdoptionFile = "adoption.json";
constexpr const char* kGenerationsDir = "generations";
constexpr size_t kMaxAdoptionBytes = 16 << 20;
// Reports arrive with every tracked handshake: saved at most this often (s).
constexpr UnixTime kAdoptionSaveInterval = 10;

json step(std::string_view what, const CaRecord& r) {
  json e = {{"step", what}, {"ca", r.name}, {"generation", r.generation}};
  if (r.retire_at) e["retire_at"] = rfc3339(*r.retire_at);
  if (r.activate_at) e["activate_at"] = rfc3339(*r.activate_at);
  return e;
}

bool has_name(const std::vector<CaRecord>& records, std::string_view name) {
  return std::any_of(records.begin(), records.end(),
                     [&](const CaRecord& r) { return r.name == name; });
}

// Index of the generation of `name` in `state`, if there is one.
std::optional<size_t> index_of(const std::vector<CaRecord>& records, std::string_view name,
                               CaState state) {
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].name == name && records[i].state == state) return i;
  }
  return std::nullopt;
}

void require_name(std::string_view name) {
  if (!valid_ca_name(name)) {
    throw CaCommandError("invalid CA name '" + std::string(name) +
                         "': 1-32 characters of a-z, 0-9, '-' and '_', starting with a letter or "
                         "digit");
  }
}

}  // namespace

CaRegistry::CaRegistry(fs::path ca_dir, Options options)
    : ca_dir_(std::move(ca_dir)),
      options_(std::move(options)),
      adoption_(options_.max_tracked_clients) {}

std::unique_ptr<CaRegistry> CaRegistry::open(const fs::path& state_dir, Options options) {
  if (!options.now) options.now = [] { return static_cast<UnixTime>(std::time(nullptr)); };
  std::unique_ptr<CaRegistry> registry(new CaRegistry(state_dir / "ca", std::move(options)));
  CaRegistry& r = *registry;
  const fs::path file = r.ca_dir_ / kRegistryFile;
  std::error_code ec;
  if (fs::exists(file, ec)) {
    r.records_ = read_registry(file);
  } else if (fs::exists(r.ca_dir_ / kGenerationsDir, ec)) {
    // Generations without their registry: which one signs is unknown, and
    // guessing could serve a CA the clients no longer trust.
    throw std::runtime_error(file.string() + " is missing but " +
                             (r.ca_dir_ / kGenerationsDir).string() +
                             " exists: restore the registry from a backup");
  } else {
    // The layout from before the registry: kept in place as "default" 1.
    CaStore::open_or_create(state_dir);
    CaRecord first;
    first.name = std::string(kDefaultCaName);
    first.state = CaState::active;
    first.created = r.now();
    first.activated = first.created;
    write_registry(file, {first});
    r.records_ = {first};
  }
  const fs::path adoption = r.ca_dir_ / kAdoptionFile;
  if (fs::exists(adoption, ec)) {
    try {
      r.adoption_.load(json::parse(read_small_file(adoption, kMaxAdoptionBytes)));
    } catch (const std::exception& e) {
      // Only a report is lost: clients that fell back fall back once more.
      std::fprintf(stderr, "tlsgated: ignoring %s: %s\n", adoption.c_str(), e.what());
    }
  }
  std::lock_guard lock(r.mu_);
  r.rebuild_snapshot();
  return registry;
}

CaRegistry::~CaRegistry() {
  {
    std::lock_guard lock(clock_mu_);
    clock_stop_ = true;
  }
  clock_cv_.notify_all();
  if (clock_.joinable()) clock_.join();
  try {
    std::lock_guard lock(mu_);
    save_adoption();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlsgated: cannot save the CA adoption table: %s\n", e.what());
  }
}

fs::path CaRegistry::directory_of(const CaRecord& r) const {
  return r.directory.empty() ? ca_dir_ : ca_dir_ / r.directory;
}

// ------------------------------------------------------------------ data path

SignerChoice CaRegistry::signer_for(const IpAddress& client, std::string_view ca_name) const {
  const std::string_view name = ca_name.empty() ? kDefaultCaName : ca_name;
  const auto snap = snapshot_.load();
  auto it = snap->lineages.find(name);
  if (it == snap->lineages.end() || !it->second.active) {
    throw CaCommandError("no active CA named '" + std::string(name) + "'");
  }
  const Lineage& lineage = it->second;
  SignerChoice choice{lineage.active, false, false};
  auto complete = snap->complete.find(name);
  choice.tracked = complete != snap->complete.end() && !complete->second;
  if (choice.tracked && lineage.previous &&
      adoption_.use_previous(name, lineage.active->generation, client, options_.now(),
                             options_.fallback_retry)) {
    choice.ca = lineage.previous;
    choice.previous = true;
  }
  return choice;
}

void CaRegistry::report_acceptance(const IpAddress& client, const SignerChoice& choice) {
  if (!choice.tracked || !choice.ca) return;
  const auto outcome = adoption_.report(choice.ca->name, choice.ca->generation, choice.previous,
                                        client, std::nullopt, now());
  if (outcome.first_acceptance) {
    emit({{{"step", "client_adopted"},
           {"ca", choice.ca->name},
           {"generation", choice.ca->generation},
           {"client", client.to_string()}}});
  }
}

void CaRegistry::report_rejection(const IpAddress& client, const SignerChoice& choice,
                                  std::string_view why) {
  if (!choice.tracked || !choice.ca) return;
  const auto outcome =
      adoption_.report(choice.ca->name, choice.ca->generation, choice.previous, client, why, now());
  if (outcome.first_rejection) {
    emit({{{"step", "client_falls_back"},
           {"ca", choice.ca->name},
           {"generation", choice.ca->generation},
           {"client", client.to_string()},
           {"rejection", why}}});
  }
}

// ------------------------------------------------------------------- commands

CaRecord CaRegistry::add_generation(const std::string& name, const CaMaterial& material,
                                    CaOrigin origin, Events& events) {
  CaRecord r;
  r.name = name;
  r.generation = 1;
  for (const CaRecord& other : records_) {
    if (other.name == name) r.generation = std::max(r.generation, other.generation + 1);
  }
  r.origin = origin;
  r.created = now();
  const fs::path parent = ca_dir_ / kGenerationsDir;
  std::error_code ec;
  if (fs::create_directory(parent, ec)) fs::permissions(parent, fs::perms::owner_all);
  // A directory no record names (a command interrupted before the registry
  // was saved) may still hold keys someone wants: never reused, never removed.
  r.directory = std::string(kGenerationsDir) + "/" + r.id();
  for (int n = 2; fs::exists(fs::symlink_status(directory_of(r), ec)); ++n) {
    r.directory = std::string(kGenerationsDir) + "/" + r.id() + "-" + std::to_string(n);
  }
  if (!CaStore::create_directory(directory_of(r), material)) {
    throw CaCommandError("cannot create " + directory_of(r).string() + ": it appeared meanwhile");
  }
  events.push_back(step(origin == CaOrigin::generated ? "created" : "imported", r));
  return r;
}

CaRecord CaRegistry::init(const std::string& name) {
  require_name(name);
  Events events;
  CaRecord r;
  {
    std::lock_guard lock(mu_);
    if (has_name(records_, name)) {
      throw CaCommandError("CA '" + name + "' exists; to replace it: ca stage " + name +
                           ", then ca activate " + name);
    }
    r = add_generation(name, CaStore::generate(), CaOrigin::generated, events);
    r.state = CaState::active;
    r.activated = r.created;
    auto next = records_;
    next.push_back(r);
    commit(std::move(next));
  }
  emit(events);
  return r;
}

CaRecord CaRegistry::stage(const std::string& name) {
  require_name(name);
  Events events;
  CaRecord r;
  {
    std::lock_guard lock(mu_);
    if (!has_name(records_, name)) {
      throw CaCommandError("no CA named '" + name + "' (ca init " + name + " creates one)");
    }
    if (auto staged = index_of(records_, name, CaState::staged)) {
      throw CaCommandError("CA '" + name + "' already has a staged generation (" +
                           records_[*staged].id() + "): activate or retire it first");
    }
    r = add_generation(name, CaStore::generate(), CaOrigin::generated, events);
    auto next = records_;
    next.push_back(r);
    commit(std::move(next));
  }
  emit(events);
  return r;
}

CaRecord CaRegistry::import_ca(const std::string& name, const CaImportInput& input,
                               std::vector<std::string>* warnings) {
  require_name(name);
  ImportedCa imported;
  try {
    imported = tls::import_ca(input);
  } catch (const std::invalid_argument& e) {
    throw CaCommandError(std::string("import refused: ") + e.what());
  }
  if (warnings != nullptr) *warnings = imported.warnings;
  Events events;
  CaRecord r;
  {
    std::lock_guard lock(mu_);
    const bool fresh = !has_name(records_, name);
    if (auto staged = index_of(records_, name, CaState::staged)) {
      throw CaCommandError("CA '" + name + "' already has a staged generation (" +
                           records_[*staged].id() + "): activate or retire it first");
    }
    r = add_generation(name, imported.material, imported.origin, events);
    if (fresh) {
      r.state = CaState::active;
      r.activated = r.created;
    }
    auto next = records_;
    next.push_back(r);
    commit(std::move(next));
  }
  emit(events);
  return r;
}

CaRecord CaRegistry::import_cross(const std::string& name, std::string_view cross_pem) {
  X509Ptr cross;
  try {
    cross = parse_cross_certificate(cross_pem);
  } catch (const std::invalid_argument& e) {
    throw CaCommandError(std::string("import refused: ") + e.what());
  }
  Events events;
  CaRecord target;
  {
    std::lock_guard lock(mu_);
    const auto snap = snapshot_.load();
    const PublishedCa* found = nullptr;
    for (const PublishedCa& p : snap->published) {
      if (p.record.name == name && cross_signs(cross.get(), p.ca->store.root())) found = &p;
    }
    if (found == nullptr) {
      throw CaCommandError(
          "the cross-certificate certifies \"" + rfc2253(X509_get_subject_name(cross.get())) +
          "\", which is not the root of a published generation of CA '" + name + "'");
    }
    const std::string fingerprint = sha256_fingerprint(cross.get());
    for (const X509Ptr& c : found->ca->store.cross_certificates()) {
      if (sha256_fingerprint(c.get()) == fingerprint) {
        throw CaCommandError("this cross-certificate is already served with " + found->record.id());
      }
    }
    target = found->record;
    CaStore::add_cross_certificate(directory_of(target), cross.get());
    loaded_.erase(target.id());  // loaded again with the new chain
    rebuild_snapshot();
    json e = step("cross_imported", target);
    e["issuer"] = rfc2253(X509_get_issuer_name(cross.get()));
    events.push_back(std::move(e));
  }
  emit(events);
  return target;
}

void CaRegistry::activate_now(std::vector<CaRecord>& next, size_t staged, UnixTime now,
                              Events& events) {
  const std::string name = next[staged].name;
  for (CaRecord& r : next) {
    if (r.name != name) continue;
    if (r.state == CaState::retiring) {
      retire_now(r, now, events);  // a new rotation ends the one before
    } else if (r.state == CaState::active) {
      r.state = CaState::retiring;
      r.retire_at = now + options_.retire_after.count();
      events.push_back(step("retiring", r));
    }
  }
  CaRecord& r = next[staged];
  r.state = CaState::active;
  r.activated = now;
  r.activate_at.reset();
  r.retire_at.reset();
  events.push_back(step("activated", r));
}

void CaRegistry::retire_now(CaRecord& r, UnixTime now, Events& events) const {
  r.state = CaState::retired;
  r.retired = now;
  r.activate_at.reset();
  events.push_back(step("retired", r));
}

CaRecord CaRegistry::activate(const std::string& name, std::optional<UnixTime> at) {
  Events events;
  CaRecord result;
  {
    std::lock_guard lock(mu_);
    auto staged = index_of(records_, name, CaState::staged);
    if (!staged) {
      throw CaCommandError(has_name(records_, name)
                               ? "CA '" + name + "' has no staged generation (ca stage " + name +
                                     " or ca import " + name + " makes one)"
                               : "no CA named '" + name + "'");
    }
    const UnixTime t = now();
    auto next = records_;
    const auto previous = index_of(next, name, CaState::active);
    if (at && *at > t) {
      next[*staged].activate_at = at;
      events.push_back(step("activation_scheduled", next[*staged]));
      result = next[*staged];
      commit(std::move(next));
    } else {
      activate_now(next, *staged, t, events);
      result = next[*staged];
      const unsigned from = previous ? next[*previous].generation : 0;
      commit(std::move(next));
      if (from != 0) adoption_.start_rotation(name, from, result.generation, t);
      rebuild_snapshot();  // the new rotation is not complete
    }
  }
  emit(events);
  return result;
}

CaRecord CaRegistry::retire(const std::string& name, std::optional<unsigned> generation,
                            std::optional<UnixTime> at) {
  Events events;
  CaRecord result;
  {
    std::lock_guard lock(mu_);
    auto next = records_;
    CaRecord* target = nullptr;
    for (CaRecord& r : next) {
      if (r.name != name) continue;
      if (generation ? r.generation == *generation : r.state == CaState::retiring) target = &r;
    }
    if (target == nullptr) {
      throw CaCommandError(
          generation ? "CA '" + name + "' has no generation " + std::to_string(*generation)
          : has_name(records_, name) ? "CA '" + name + "' has no retiring generation"
                                     : "no CA named '" + name + "'");
    }
    if (target->state == CaState::active) {
      throw CaCommandError(target->id() +
                           " is active: activate another generation first (it then retires)");
    }
    if (target->state == CaState::retired) throw CaCommandError(target->id() + " is retired");
    const UnixTime t = now();
    if (at && *at > t) {
      target->retire_at = at;
      events.push_back(step("retirement_scheduled", *target));
    } else {
      retire_now(*target, t, events);
    }
    result = *target;
    commit(std::move(next));
  }
  emit(events);
  return result;
}

bool CaRegistry::tick() {
  Events events;
  bool changed = false;
  {
    std::lock_guard lock(mu_);
    const UnixTime t = now();
    auto next = records_;
    std::vector<std::pair<std::string, std::pair<unsigned, unsigned>>> rotations;
    for (size_t i = 0; i < next.size(); ++i) {
      if (next[i].state == CaState::staged && next[i].activate_at && *next[i].activate_at <= t) {
        const auto previous = index_of(next, next[i].name, CaState::active);
        const unsigned from = previous ? next[*previous].generation : 0;
        activate_now(next, i, t, events);
        if (from != 0) rotations.push_back({next[i].name, {from, next[i].generation}});
        changed = true;
      }
    }
    for (CaRecord& r : next) {
      if ((r.state == CaState::retiring || r.state == CaState::staged) && r.retire_at &&
          *r.retire_at <= t) {
        retire_now(r, t, events);
        changed = true;
      }
    }
    if (changed) {
      commit(std::move(next));
      for (const auto& [name, gens] : rotations) {
        adoption_.start_rotation(name, gens.first, gens.second, t);
      }
    }
    // Completion also moves with the clients' reports.
    rebuild_snapshot();
    if (changed || t - adoption_saved_ >= kAdoptionSaveInterval) save_adoption();
  }
  emit(events);
  return changed;
}

void CaRegistry::start_clock(std::chrono::milliseconds period) {
  clock_ = std::thread([this, period] {
    std::unique_lock lock(clock_mu_);
    while (!clock_cv_.wait_for(lock, period, [this] { return clock_stop_; })) {
      lock.unlock();
      try {
        tick();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "tlsgated: CA clock: %s\n", e.what());
      }
      lock.lock();
    }
  });
}

// -------------------------------------------------------------------- state

void CaRegistry::commit(std::vector<CaRecord> next) {
  if (std::string problem = registry_problem(next); !problem.empty()) {
    throw CaCommandError("refused: " + problem);
  }
  write_registry(ca_dir_ / kRegistryFile, next);
  records_ = std::move(next);
  rebuild_snapshot();
}

void CaRegistry::rebuild_snapshot() {
  auto snap = std::make_shared<Snapshot>();
  std::map<std::string, std::shared_ptr<const SigningCa>> loaded;
  for (const CaRecord& r : records_) {
    if (!r.published()) continue;
    auto it = loaded_.find(r.id());
    std::shared_ptr<const SigningCa> ca =
        it != loaded_.end()
            ? it->second
            : std::make_shared<const SigningCa>(
                  r.name, r.generation,
                  CaStore::open_directory(directory_of(r), r.origin == CaOrigin::generated));
    loaded.emplace(r.id(), ca);
    snap->published.push_back({r, ca});
    Lineage& lineage = snap->lineages[r.name];
    if (r.state == CaState::active) lineage.active = ca;
    if (r.state == CaState::retiring &&
        (!lineage.previous || lineage.previous->generation < r.generation)) {
      lineage.previous = ca;
    }
  }
  std::sort(snap->published.begin(), snap->published.end(), [](const auto& a, const auto& b) {
    return std::tie(a.record.name, a.record.generation) <
           std::tie(b.record.name, b.record.generation);
  });
  for (auto& [name, lineage] : snap->lineages) {
    if (lineage.active && lineage.previous &&
        !adoption_.not_adopted(name, lineage.active->generation)) {
      // A rotation whose report was lost (adoption.json unreadable): a new one.
      adoption_.start_rotation(name, lineage.previous->generation, lineage.active->generation,
                               now());
    }
    bool complete = !lineage.previous;
    if (complete && lineage.active) {
      complete = adoption_.not_adopted(name, lineage.active->generation).value_or(0) == 0;
    }
    snap->complete[name] = complete;
  }
  loaded_ = std::move(loaded);
  snapshot_.store(std::move(snap));
}

void CaRegistry::save_adoption() {
  if (!adoption_.dirty()) return;
  adoption_saved_ = now();
  replace_file(ca_dir_ / kAdoptionFile, adoption_.to_json().dump() + "\n", 0600);
}

void CaRegistry::emit(const Events& events) const {
  if (!options_.on_event) return;
  for (const json& e : events) options_.on_event(e);
}

// -------------------------------------------------------------------- reading

std::vector<OwnCaCertificate> CaRegistry::every_certificate() const {
  std::vector<OwnCaCertificate> certs;
  for (const CaRecord& r : records()) {
    std::vector<X509Ptr> found;
    try {
      found = CaStore::certificates_in(directory_of(r));
    } catch (const std::runtime_error&) {
      // Published generations were loaded, so readable; a retired one's files
      // may have been removed by hand: nothing left to match.
      if (r.published()) throw;
    }
    for (X509Ptr& cert : found) certs.push_back({r.id(), std::move(cert)});
  }
  return certs;
}

std::vector<CaRecord> CaRegistry::records() const {
  std::lock_guard lock(mu_);
  return records_;
}

std::vector<PublishedCa> CaRegistry::published() const {
  return snapshot_.load()->published;
}

std::optional<PublishedCa> CaRegistry::find(std::string_view name,
                                            std::optional<unsigned> generation) const {
  const auto snap = snapshot_.load();
  for (const PublishedCa& p : snap->published) {
    if (p.record.name != name) continue;
    if (generation ? p.record.generation == *generation : p.record.state == CaState::active) {
      return p;
    }
  }
  return std::nullopt;
}

bool CaRegistry::rotation_complete(std::string_view name) const {
  const auto snap = snapshot_.load();
  auto it = snap->complete.find(name);
  return it == snap->complete.end() || it->second;
}

std::string CaRegistry::check_names(const std::vector<std::string>& names) const {
  const auto snap = snapshot_.load();
  for (const std::string& n : names) {
    const std::string_view name = n.empty() ? kDefaultCaName : std::string_view(n);
    auto it = snap->lineages.find(name);
    if (it == snap->lineages.end() || !it->second.active) {
      return "CA '" + std::string(name) +
             "' has no active generation (tlsgatectl ca list; ca init or ca import creates one)";
    }
  }
  return {};
}

}  // namespace tlsgate::tls
