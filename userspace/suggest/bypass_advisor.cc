#include "suggest/bypass_advisor.h"

#include <ctime>

namespace tlsgate::suggest {

namespace {

using nlohmann::json;

TrackerSettings tracker_settings(const AdvisorSettings& s) {
  return {std::max(s.threshold, 2u), s.window, s.max_candidates};
}

json endpoints(const std::vector<Endpoint>& servers) {
  json out = json::array();
  for (const auto& s : servers) out.push_back(s.to_string());
  return out;
}

int64_t seconds_until(Time t, Time now) {
  return std::chrono::duration_cast<std::chrono::seconds>(t - now).count();
}

}  // namespace

std::string rfc3339(Time t) {
  const std::time_t secs = Clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

BypassAdvisor::BypassAdvisor(AdvisorSettings settings, EventSink emit)
    : settings_(settings),
      tracker_(tracker_settings(settings)),
      scoped_(settings.retest_interval),
      emit_(std::move(emit)) {}

void BypassAdvisor::set_settings(const AdvisorSettings& settings) {
  std::lock_guard lock(mu_);
  settings_ = settings;
  tracker_.set_settings(tracker_settings(settings));
  scoped_.set_retest_interval(settings.retest_interval);
}

AdvisorSettings BypassAdvisor::settings() const {
  std::lock_guard lock(mu_);
  return settings_;
}

RejectNote BypassAdvisor::client_rejected(const IpAddress& client, const Endpoint& server,
                                          const std::string& sni, const std::string& ja4,
                                          const std::string& reason, const std::string& retest,
                                          Time now) {
  std::lock_guard lock(mu_);
  sweep(now);
  CandidateKey key{
      CandidateKind::client_reject,
      Cidr(client, client.is_v4() ? settings_.device_prefix_v4 : settings_.device_prefix_v6), sni,
      ja4};
  auto recorded = tracker_.record(key, reason, server, now);
  RejectNote note;
  note.candidate = key.id();
  note.in_window = recorded.in_window;
  note.suggested = recorded.candidate != nullptr && recorded.candidate->suggested;
  if (recorded.candidate == nullptr || sni.empty()) return note;  // no name: nothing to scope to
  if (!retest.empty() && settings_.auto_bypass) {  // switched off by a reload: let it lapse
    if (auto bypass = scoped_.find(retest)) {
      // The re-test of a bypass failed: it holds for another period.
      renew(*bypass, now);
      note.bypassed = retest;
      return note;
    }
  }
  if (settings_.auto_bypass && note.suggested && !scoped_.find(note.candidate)) {
    create(*recorded.candidate, now);
    note.bypassed = note.candidate;
  }
  return note;
}

void BypassAdvisor::create(const Candidate& c, Time now) {
  ScopedBypass b{c.id, c.key.device, c.key.sni, c.key.ja4, now, now + settings_.auto_bypass_expiry,
                 0};
  scoped_.put(b, now + settings_.retest_interval);
  announce("created", b);
}

void BypassAdvisor::renew(ScopedBypass b, Time now) {
  ++b.renewals;
  b.expires = now + settings_.auto_bypass_expiry;
  scoped_.put(b, now + settings_.retest_interval);
  announce("renewed", b);
}

void BypassAdvisor::announce(const char* step, const ScopedBypass& b) {
  if (!emit_) return;
  emit_("auto_bypass", {{"step", step},
                        {"id", b.id},
                        {"device", b.device.to_string()},
                        {"sni", b.sni},
                        {"ja4", b.ja4},
                        {"expires", rfc3339(b.expires)},
                        {"renewals", b.renewals}});
}

void BypassAdvisor::validation_failed(const std::string& host, const Endpoint& server,
                                      const std::string& error_class, Time now) {
  std::lock_guard lock(mu_);
  sweep(now);
  tracker_.record({CandidateKind::upstream_validation, Cidr(), host, ""}, error_class, server, now);
}

void BypassAdvisor::retest_passed(const std::string& id, const IpAddress& client, Time now) {
  std::lock_guard lock(mu_);
  auto b = scoped_.find(id);
  if (!b || !scoped_.remove(id)) return;
  tracker_.remove(id);  // a fresh start: the client took our certificate
  if (emit_) {
    emit_("auto_bypass", {{"step", "ended"},
                          {"id", id},
                          {"device", b->device.to_string()},
                          {"sni", b->sni},
                          {"client", client.to_string()},
                          {"why", "retest_passed"},
                          {"at", rfc3339(now)}});
  }
}

// Expired bypasses whose re-test never came are kept one more period (a
// returning client renews them at once), then dropped.
void BypassAdvisor::sweep(Time now) {
  scoped_.drop_expired_before(now - settings_.auto_bypass_expiry);
}

json BypassAdvisor::listing(Time now) {
  std::lock_guard lock(mu_);
  sweep(now);
  json suggestions = json::array();
  for (const auto& c : tracker_.suggestions(now)) {
    json reasons = json::object();
    for (const auto& [reason, n] : c.reasons) reasons[reason] = n;
    json item = {{"id", c.id},
                 {"kind", to_string(c.key.kind)},
                 {"sni", c.key.sni},
                 {"count", c.total},
                 {"in_window", c.recent.size()},
                 {"first_seen", rfc3339(c.first_seen)},
                 {"last_seen", rfc3339(c.last_seen)},
                 {"reasons", reasons},
                 {"servers", endpoints(c.servers)},
                 {"auto_bypass", scoped_.find(c.id).has_value()}};
    if (c.key.kind == CandidateKind::client_reject) {
      item["device"] = c.key.device.to_string();
      item["ja4"] = c.key.ja4;
    }
    suggestions.push_back(std::move(item));
  }
  json bypasses = json::array();
  for (const auto& b : scoped_.list()) {
    bypasses.push_back({{"id", b.id},
                        {"device", b.device.to_string()},
                        {"sni", b.sni},
                        {"ja4", b.ja4},
                        {"created", rfc3339(b.created)},
                        {"expires", rfc3339(b.expires)},
                        {"expires_in_s", seconds_until(b.expires, now)},
                        {"state", now < b.expires ? "active" : "expired_retesting"},
                        {"renewals", b.renewals}});
  }
  return {
      {"suggestions", suggestions},
      {"auto_bypasses", bypasses},
      {"settings",
       {{"threshold", std::max(settings_.threshold, 2u)},
        {"window_s", std::chrono::duration<double>(settings_.window).count()},
        {"auto_bypass", settings_.auto_bypass},
        {"auto_bypass_expiry_s",
         std::chrono::duration<double>(settings_.auto_bypass_expiry).count()},
        {"retest_interval_s", std::chrono::duration<double>(settings_.retest_interval).count()}}}};
}

std::optional<Candidate> BypassAdvisor::suggestion(const std::string& id, Time now) {
  std::lock_guard lock(mu_);
  sweep(now);
  const Candidate* c = tracker_.find(id);
  if (c == nullptr || !c->suggested) return std::nullopt;
  return *c;
}

bool BypassAdvisor::forget(const std::string& id, const char* why, Time now) {
  std::lock_guard lock(mu_);
  const bool had_candidate = tracker_.remove(id);
  const auto bypass = scoped_.find(id);
  if (bypass && scoped_.remove(id) && emit_) {
    emit_("auto_bypass", {{"step", "ended"},
                          {"id", id},
                          {"device", bypass->device.to_string()},
                          {"sni", bypass->sni},
                          {"why", why},
                          {"at", rfc3339(now)}});
  }
  return had_candidate || bypass.has_value();
}

}  // namespace tlsgate::suggest
