// Counts sightings per candidate key within a sliding window (DESIGN.md §7):
// a key becomes a suggestion once `threshold` sightings fall within `window`
// — never from a single failure. Bounded: past `max_entries`, the keys seen
// least recently go first (suggestions last). Not thread-safe (the advisor
// locks); time is passed in.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "suggest/candidate.h"

namespace tlsgate::suggest {

struct TrackerSettings {
  unsigned threshold = 3;  // at least 2, at most kMaxRecent
  std::chrono::milliseconds window{std::chrono::minutes(10)};
  size_t max_entries = 4096;
};

class RejectTracker {
 public:
  // Timestamps kept per key: the window's count is exact up to this many.
  static constexpr size_t kMaxRecent = 100;

  explicit RejectTracker(TrackerSettings settings) : settings_(settings) {}
  void set_settings(TrackerSettings settings) { settings_ = settings; }
  const TrackerSettings& settings() const { return settings_; }

  struct Recorded {
    const Candidate* candidate = nullptr;  // valid until the next change
    size_t in_window = 0;                  // sightings within the window, this one included
    bool became_suggestion = false;        // this sighting made it one
  };
  // `reason`: the alert or failure class; `server`: where (kept, a few per key).
  Recorded record(const CandidateKey& key, const std::string& reason, const Endpoint& server,
                  Time now);

  // The suggestions, most recently seen first; `recent` trimmed to the window.
  std::vector<Candidate> suggestions(Time now) const;
  const Candidate* find(const std::string& id) const;
  bool remove(const std::string& id);
  size_t size() const { return entries_.size(); }

 private:
  void trim(Candidate& c, Time now) const;
  void evict();

  TrackerSettings settings_;
  std::map<std::string, Candidate> entries_;  // by id
};

}  // namespace tlsgate::suggest
