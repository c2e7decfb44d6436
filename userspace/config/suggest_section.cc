#include "config/suggest_section.h"

namespace tlsgate::config {

void read_suggest_section(const SectionReader& r, SuggestSettings& out) {
  r.reject_unknown_keys({"threshold", "window", "auto_bypass", "auto_bypass_expiry",
                         "retest_interval", "device_prefix_v4", "device_prefix_v6"});
  // Never from a single failure: one reject is as likely a user's mistake
  // (a wrong clock, a cancelled download) as a pinned application.
  if (auto v = r.integer("threshold", 2, 100)) out.threshold = static_cast<unsigned>(*v);
  if (auto v = r.duration("window")) out.window = *v;
  if (auto v = r.boolean("auto_bypass")) out.auto_bypass = *v;
  if (auto v = r.duration("auto_bypass_expiry")) out.auto_bypass_expiry = *v;
  if (auto v = r.duration("retest_interval")) out.retest_interval = *v;
  // Wider than a /16 (v4) or a /48 (v6) is no longer a device group but a site.
  if (auto v = r.integer("device_prefix_v4", 16, 32)) {
    out.device_prefix_v4 = static_cast<unsigned>(*v);
  }
  if (auto v = r.integer("device_prefix_v6", 48, 128)) {
    out.device_prefix_v6 = static_cast<unsigned>(*v);
  }
}

}  // namespace tlsgate::config
