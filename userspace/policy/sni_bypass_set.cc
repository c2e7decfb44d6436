#include "policy/sni_bypass_set.h"

namespace tlsgate::policy {

SniBypassSet::SniBypassSet(std::span<const KernelSniEntry> entries) {
  for (const auto& e : entries) (e.wildcard ? wildcard_ : exact_).insert(e.name);
}

bool SniBypassSet::allows(std::string_view sni) const {
  if (sni.empty()) return false;
  if (exact_.contains(std::string(sni))) return true;
  // A dot at position 0 would leave an empty label: the apex of "*.x" is "x"
  // itself and is never matched.
  for (size_t dot = sni.find('.', 1); dot != std::string_view::npos; dot = sni.find('.', dot + 1)) {
    if (wildcard_.contains(std::string(sni.substr(dot + 1)))) return true;
  }
  return false;
}

}  // namespace tlsgate::policy
