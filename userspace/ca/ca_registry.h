// The gateway's CAs and their life cycle (DESIGN.md §6): several named CAs,
// each with generations that are staged, active, retiring or retired
// (ca_registry_file.h), created, imported, activated (now or at a set time)
// and retired while the daemon runs; rules name the CA that signs for them
// ("default" when they name none).
//
// The terminator asks signer_for() on every forged identity: a lock-free
// snapshot of the signing CAs, plus — only while a rotation of that CA is
// not complete — the adoption table, which serves the previous generation to
// clients that rejected the new one (ca_adoption.h).
//
// Rotation complete, per CA name: no generation of it is retiring (the
// previous generation is past its retire_at, or was retired by hand) and no
// client's latest handshake with the active generation was a rejection.
// A CA that never rotated is complete.
//
// Owns <state_dir>/ca/: registry.json, adoption.json and generations/. The
// first CA (<state_dir>/ca/{root,intermediate}.*, the layout from before
// the registry) is "default" generation 1 and stays where it is. The
// untrusted CA (<state_dir>/ca/untrusted/) is not the registry's.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "ca/ca_adoption.h"
#include "ca/ca_import.h"
#include "ca/ca_registry_file.h"
#include "ca/ca_store.h"
#include "ca/ca_time.h"
#include "common/ip_address.h"
#include "forging/leaf_forger.h"

namespace tlsgate::tls {

inline constexpr std::string_view kDefaultCaName = "default";

// A refused CA command: the message says why, for the administrator.
class CaCommandError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One loaded generation and its forger (one leaf key per generation).
struct SigningCa {
  SigningCa(std::string ca_name, unsigned ca_generation, CaStore ca)
      : name(std::move(ca_name)), generation(ca_generation), store(std::move(ca)) {}
  const std::string name;
  const unsigned generation;
  const CaStore store;
  const LeafForger forger{store};
};

// A published generation: its record now, and its certificates.
struct PublishedCa {
  CaRecord record;
  std::shared_ptr<const SigningCa> ca;
};

// A certificate of one of the gateway's CAs, and which ("default.2").
struct OwnCaCertificate {
  std::string ca_id;
  X509Ptr cert;
};

struct SignerChoice {
  std::shared_ptr<const SigningCa> ca;
  bool previous = false;  // the retiring generation, for a client that rejected the new one
  bool tracked = false;   // this CA's rotation is not complete: report the handshake's outcome
};

class CaRegistry {
 public:
  struct Options {
    // How long a replaced generation stays published (retiring) and serves
    // the clients that reject its successor.
    std::chrono::seconds retire_after{std::chrono::hours(24 * 30)};
    // How often a client falling back is offered the new generation again.
    std::chrono::seconds fallback_retry{std::chrono::hours(1)};
    size_t max_tracked_clients = 16384;  // per CA name
    std::function<UnixTime()> now;       // default: the system clock
    // `ca` events (DESIGN.md §7): rotation steps, first fallback and
    // adoption per client. Called without any lock held.
    std::function<void(nlohmann::json)> on_event;
  };

  // Opens <state_dir>/ca/registry.json; without one, takes the first CA's
  // layout (creating that CA when there is none) as "default" generation 1,
  // active. Loads every published generation. Throws std::runtime_error.
  static std::unique_ptr<CaRegistry> open(const std::filesystem::path& state_dir, Options options);
  ~CaRegistry();
  CaRegistry(const CaRegistry&) = delete;
  CaRegistry& operator=(const CaRegistry&) = delete;

  // --- data path (any thread) ---
  // The generation that signs for a client of a rule naming `ca_name` (""
  // for the default CA): the active one, or the retiring one for a client
  // falling back. Throws CaCommandError for a name with no active generation.
  SignerChoice signer_for(const IpAddress& client, std::string_view ca_name) const;
  // The outcome of a client handshake signed by `choice` (only when tracked).
  void report_acceptance(const IpAddress& client, const SignerChoice& choice);
  void report_rejection(const IpAddress& client, const SignerChoice& choice, std::string_view why);

  // --- commands (persisted before they return; throw CaCommandError) ---
  CaRecord init(const std::string& name);   // a new name, generation 1 active
  CaRecord stage(const std::string& name);  // a new generated generation, staged
  // A new generation from an enterprise CA: staged, or active when the name
  // is new. `warnings` receives what the administrator should know.
  CaRecord import_ca(const std::string& name, const CaImportInput& input,
                     std::vector<std::string>* warnings);
  // Adds a cross-certificate to the published generation of `name` whose
  // root it certifies; served from the next handshake on.
  CaRecord import_cross(const std::string& name, std::string_view cross_pem);
  // The staged generation becomes active now, or at `at` (checked each
  // second by the clock); the active one becomes retiring until now +
  // retire_after. Returns the staged record (with activate_at when later).
  CaRecord activate(const std::string& name, std::optional<UnixTime> at);
  // Retires `generation` (default: the retiring one) now or at `at`. The
  // active generation cannot be retired; a staged one is withdrawn.
  CaRecord retire(const std::string& name, std::optional<unsigned> generation,
                  std::optional<UnixTime> at);

  // Applies due activations and retirements and saves the adoption table
  // when it changed; true when a CA changed state.
  bool tick();
  // Calls tick() every `period` on a thread of its own until destruction.
  void start_clock(std::chrono::milliseconds period = std::chrono::seconds(1));

  // --- reading (any thread) ---
  std::vector<CaRecord> records() const;
  // Every certificate of every generation in every state (staged, active,
  // retiring, retired; generated or imported; roots, signers, chains,
  // cross-certificates), read from disk: what the upstream verifier must
  // never accept. A retired generation whose directory is gone has none.
  std::vector<OwnCaCertificate> every_certificate() const;
  // Every published generation (staged, active, retiring), by name and generation.
  std::vector<PublishedCa> published() const;
  // A published generation (nullopt generation: the active one).
  std::optional<PublishedCa> find(std::string_view name, std::optional<unsigned> generation) const;
  bool rotation_complete(std::string_view name) const;
  std::optional<Rotation> rotation(std::string_view name) const { return adoption_.rotation(name); }
  // "" when every name has an active generation, else what is wrong.
  std::string check_names(const std::vector<std::string>& names) const;
  UnixTime now() const { return options_.now(); }

 private:
  struct Lineage {
    std::shared_ptr<const SigningCa> active;
    std::shared_ptr<const SigningCa> previous;  // retiring, replaced by `active`
  };
  struct Snapshot {
    std::map<std::string, Lineage, std::less<>> lineages;
    std::vector<PublishedCa> published;
    std::map<std::string, bool, std::less<>> complete;  // rotation complete, per name
  };

  CaRegistry(std::filesystem::path ca_dir, Options options);
  std::filesystem::path directory_of(const CaRecord& r) const;
  using Events = std::vector<nlohmann::json>;
  // The rest runs with mu_ held. Commands edit a copy of records_ and
  // commit() it: saved first, then in force.
  CaRecord add_generation(const std::string& name, const CaMaterial& material, CaOrigin origin,
                          Events& events);
  void activate_now(std::vector<CaRecord>& next, size_t staged, UnixTime now, Events& events);
  void retire_now(CaRecord& r, UnixTime now, Events& events) const;
  void commit(std::vector<CaRecord> next);
  void rebuild_snapshot();
  void save_adoption();
  void emit(const Events& events) const;

  const std::filesystem::path ca_dir_;
  Options options_;
  mutable std::mutex mu_;  // commands and tick, one at a time
  std::vector<CaRecord> records_;
  std::map<std::string, std::shared_ptr<const SigningCa>> loaded_;  // by id, published only
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  mutable AdoptionTable adoption_;
  UnixTime adoption_saved_ = 0;  // under mu_

  std::mutex clock_mu_;
  std::condition_variable clock_cv_;
  bool clock_stop_ = false;
  std::thread clock_;
};

}  // namespace tlsgate::tls
