// Adoption of a new CA generation, per client (DESIGN.md §6): while a CA
// rotates, a client that rejects the new generation on its first handshakes
// (ClientRejection in terminator/) is served by the previous one, and offered
// the new one again every `retry` until it accepts it. Kept in memory per CA
// name for its latest rotation, and saved with the registry
// (<state_dir>/ca/adoption.json) so a restart forgets no client.
// Thread-safe; one short lock per call.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ca/ca_time.h"
#include "common/ip_address.h"

namespace tlsgate::tls {

struct ClientAdoption {
  IpAddress client;
  UnixTime first_seen = 0;
  std::optional<UnixTime> accepted_at;     // first handshake completed with the new CA
  std::optional<UnixTime> first_rejected;  // of the new CA
  std::optional<UnixTime> last_rejected;
  uint64_t rejections = 0;           // handshakes with the new CA the client rejected
  uint64_t fallback_served = 0;      // handshakes completed with the previous CA
  uint64_t fallback_rejections = 0;  // the previous CA rejected as well (pinning?)
  std::string last_rejection;        // ClientRejection text: "alert:unknown_ca", ...
  UnixTime last_trial = 0;           // last time it was offered the new CA
  // The client's latest handshake with the new CA completed. False: it
  // rejected it last (it is falling back while the previous CA is published).
  bool adopted = false;
};

struct Rotation {
  std::string ca;
  unsigned from = 0;  // the previous generation
  unsigned to = 0;    // the new (active) generation
  UnixTime started = 0;
  std::vector<ClientAdoption> clients;  // ordered by address
  uint64_t untracked = 0;               // clients beyond the table's capacity

  // Clients whose latest handshake with the new CA was a rejection.
  size_t not_adopted() const;
};

// What a report changed.
struct AdoptionOutcome {
  bool first_rejection = false;   // this client just started falling back
  bool first_acceptance = false;  // this client just adopted the new CA
};

class AdoptionTable {
 public:
  explicit AdoptionTable(size_t max_clients_per_ca = 16384) : max_clients_(max_clients_per_ca) {}

  // Generation `to` of `ca` replaced `from`: a new rotation, forgetting the
  // earlier one of this CA.
  void start_rotation(const std::string& ca, unsigned from, unsigned to, UnixTime now);
  // The latest rotation of `ca`, if any.
  std::optional<Rotation> rotation(std::string_view ca) const;
  std::vector<Rotation> rotations() const;
  // Rotation::not_adopted of the rotation of `ca` to generation `to`,
  // without copying it; nullopt when `ca` has no such rotation.
  std::optional<size_t> not_adopted(std::string_view ca, unsigned to) const;

  // Should `client` be served the previous generation of `ca`? Only a
  // client that rejected the new one, and not when its next trial of the
  // new one is due (that trial is then taken by this call).
  bool use_previous(std::string_view ca, unsigned to, const IpAddress& client, UnixTime now,
                    std::chrono::seconds retry);
  // A handshake signed by generation `generation` of `ca` — as the previous
  // generation serving a client that fell back when `previous` — completed,
  // or was rejected (`rejection`: why). Ignored when it is neither the
  // rotation's new generation nor its fallback (a flow older than it).
  AdoptionOutcome report(std::string_view ca, unsigned generation, bool previous,
                         const IpAddress& client, std::optional<std::string_view> rejection,
                         UnixTime now);

  // Changed since the last to_json.
  bool dirty() const;
  nlohmann::json to_json();
  // Replaces the table; throws std::runtime_error on a malformed document.
  void load(const nlohmann::json& doc);

 private:
  struct Table {
    Rotation rotation;
    std::map<IpAddress, ClientAdoption> clients;
  };
  Rotation snapshot(const Table& t) const;

  size_t max_clients_;
  mutable std::mutex mu_;
  std::map<std::string, Table, std::less<>> tables_;
  bool dirty_ = false;
};

}  // namespace tlsgate::tls
