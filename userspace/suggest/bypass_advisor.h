// Turns what breaks under inspection into bypass suggestions and, with
// `auto_bypass`, into scoped bypasses (DESIGN.md §7):
//   - a client_reject (a device aborted our handshake) counts toward the
//     candidate (device group, SNI, JA4); an upstream validation failure
//     toward the candidate (host);
//   - `threshold` sightings within `window` make a suggestion, listed by
//     `tlsgatectl suggest` and accepted there by id (the daemon then writes
//     a bypass rule, daemon/gateway_suggest.cc);
//   - with auto_bypass, a client_reject suggestion also becomes a scoped
//     bypass of that device group and SNI, which expires and is re-tested
//     (scoped_bypass_table.h). Upstream validation failures never bypass on
//     their own: letting a client reach a server that failed validation is
//     the administrator's call.
// Thread-safe. Workers read scoped bypasses without a lock; everything else
// (a rejected handshake, a listing) takes one mutex.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "suggest/candidate.h"
#include "suggest/reject_tracker.h"
#include "suggest/scoped_bypass_table.h"

namespace tlsgate::suggest {

struct AdvisorSettings {
  unsigned threshold = 3;  // at least 2: never from a single failure
  std::chrono::milliseconds window{std::chrono::minutes(10)};
  bool auto_bypass = false;
  std::chrono::milliseconds auto_bypass_expiry{std::chrono::hours(1)};
  std::chrono::milliseconds retest_interval{std::chrono::minutes(15)};
  unsigned device_prefix_v4 = 32;  // a device group: the client address widened to this
  unsigned device_prefix_v6 = 128;
  size_t max_candidates = 4096;
};

// What a client_reject added up to, for its event.
struct RejectNote {
  std::string candidate;  // id
  size_t in_window = 0;
  bool suggested = false;               // the candidate is (now or already) a suggestion
  std::optional<std::string> bypassed;  // auto_bypass: the scoped bypass created or renewed
};

class BypassAdvisor {
 public:
  // `emit(type, fields)`: the "auto_bypass" events (step created, renewed,
  // ended, accepted), into the event log.
  using EventSink = std::function<void(std::string_view type, nlohmann::json fields)>;
  BypassAdvisor(AdvisorSettings settings, EventSink emit);
  void set_settings(const AdvisorSettings& settings);  // reload
  AdvisorSettings settings() const;

  // Workers, every inspected flow with an SNI: lock-free.
  ScopedMatch scoped(const IpAddress& client, std::string_view sni, Time now) const {
    return scoped_.match(client, sni, now);
  }

  // A client aborted our handshake. `retest`: the flow was a re-test of that
  // scoped bypass (its id), and it failed: the bypass is renewed.
  RejectNote client_rejected(const IpAddress& client, const Endpoint& server,
                             const std::string& sni, const std::string& ja4,
                             const std::string& reason, const std::string& retest, Time now);
  // An upstream's validation failed and the client was not let through.
  void validation_failed(const std::string& host, const Endpoint& server,
                         const std::string& error_class, Time now);
  // A re-test flow of `id` completed and carried application data: the
  // client takes our certificate now, so the scoped bypass ends.
  void retest_passed(const std::string& id, const IpAddress& client, Time now);

  // Control: suggestions and scoped bypasses as JSON (suggest.list).
  nlohmann::json listing(Time now);
  // Control: a suggestion by id (nullopt: none listed under it).
  std::optional<Candidate> suggestion(const std::string& id, Time now);
  // Control: `id` was accepted (a rule now covers it) or dismissed: it
  // leaves the listing, and its scoped bypass ends.
  bool forget(const std::string& id, const char* why, Time now);

 private:
  void create(const Candidate& c, Time now);
  void renew(ScopedBypass b, Time now);
  void announce(const char* step, const ScopedBypass& b);
  void sweep(Time now);

  mutable std::mutex mu_;
  AdvisorSettings settings_;
  RejectTracker tracker_;
  ScopedBypassTable scoped_;
  EventSink emit_;
};

std::string rfc3339(Time t);

}  // namespace tlsgate::suggest
