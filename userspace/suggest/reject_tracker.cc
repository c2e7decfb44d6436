#include "suggest/reject_tracker.h"

#include <algorithm>

namespace tlsgate::suggest {

namespace {

constexpr size_t kMaxServers = 8;

}  // namespace

void RejectTracker::trim(Candidate& c, Time now) const {
  const Time oldest = now - settings_.window;
  std::erase_if(c.recent, [oldest](Time t) { return t < oldest; });
}

RejectTracker::Recorded RejectTracker::record(const CandidateKey& key, const std::string& reason,
                                              const Endpoint& server, Time now) {
  const std::string id = key.id();
  auto [it, fresh] = entries_.try_emplace(id);
  Candidate& c = it->second;
  if (fresh) {
    c.key = key;
    c.id = id;
    c.first_seen = now;
  }
  ++c.total;
  c.last_seen = now;
  ++c.reasons[reason];
  if (std::find(c.servers.begin(), c.servers.end(), server) == c.servers.end() &&
      c.servers.size() < kMaxServers) {
    c.servers.push_back(server);
  }
  trim(c, now);
  if (c.recent.size() >= kMaxRecent) c.recent.erase(c.recent.begin());
  c.recent.push_back(now);
  Recorded out;
  out.in_window = c.recent.size();
  const size_t threshold = std::clamp<size_t>(settings_.threshold, 2, kMaxRecent);
  if (!c.suggested && out.in_window >= threshold) {
    c.suggested = true;
    out.became_suggestion = true;
  }
  if (entries_.size() > settings_.max_entries) evict();
  auto found = entries_.find(id);
  out.candidate = found == entries_.end() ? nullptr : &found->second;
  return out;
}

// Drops the least recently seen plain keys first, then suggestions.
void RejectTracker::evict() {
  while (entries_.size() > settings_.max_entries) {
    auto victim = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (victim == entries_.end() || it->second.suggested < victim->second.suggested ||
          (it->second.suggested == victim->second.suggested &&
           it->second.last_seen < victim->second.last_seen)) {
        victim = it;
      }
    }
    entries_.erase(victim);
  }
}

std::vector<Candidate> RejectTracker::suggestions(Time now) const {
  std::vector<Candidate> out;
  for (const auto& [id, c] : entries_) {
    if (!c.suggested) continue;
    out.push_back(c);
    trim(out.back(), now);
  }
  std::sort(out.begin(), out.end(),
            [](const Candidate& a, const Candidate& b) { return a.last_seen > b.last_seen; });
  return out;
}

const Candidate* RejectTracker::find(const std::string& id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second;
}

bool RejectTracker::remove(const std::string& id) {
  return entries_.erase(id) > 0;
}

}  // namespace tlsgate::suggest
