#include "kernel/sni_policy_sync.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "tlsgate_abi.h"

namespace tlsgate::kernel {

namespace {

[[noreturn]] void fail(const std::string& step, int err) {
  throw std::runtime_error(step + " sni_policy: " + std::strerror(err));
}

tg_sni_key make_key(const std::string& name) {
  if (name.empty() || name.size() >= TG_SNI_KEY_LEN) {
    throw std::runtime_error("sni_policy: name of " + std::to_string(name.size()) + " bytes");
  }
  tg_sni_key key{};
  std::memcpy(key.name, name.data(), name.size());
  return key;
}

}  // namespace

bool sync_sni_policy(int map_fd, std::span<const policy::KernelSniEntry> entries) {
  // An exact and a wildcard pattern of the same name share one key.
  std::map<std::string, tg_sni_value> wanted;
  for (const auto& e : entries) {
    auto [it, fresh] =
        wanted.try_emplace(e.name, tg_sni_value{0, static_cast<__u32>(e.rule_index)});
    it->second.flags |= e.wildcard ? TG_SNI_WILDCARD : TG_SNI_EXACT;
  }
  if (wanted.size() > TG_SNI_POLICY_SIZE) fail("too many names for", E2BIG);

  std::vector<tg_sni_key> stale;
  tg_sni_key next{};
  const void* prev = nullptr;
  tg_sni_key prev_key{};
  while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
    const std::string name(next.name, strnlen(next.name, sizeof(next.name)));
    if (wanted.count(name) == 0) stale.push_back(next);
    prev_key = next;
    prev = &prev_key;
  }
  if (errno != ENOENT) fail("list", errno);
  for (const auto& key : stale) {
    if (bpf_map_delete_elem(map_fd, &key) != 0 && errno != ENOENT)
      fail("delete a name from", errno);
  }
  bool changed = !stale.empty();
  for (const auto& [name, value] : wanted) {
    tg_sni_key key = make_key(name);
    tg_sni_value present{};
    if (bpf_map_lookup_elem(map_fd, &key, &present) == 0 && present.flags == value.flags &&
        present.rule_index == value.rule_index) {
      continue;  // already there (a restart finds the previous run's names)
    }
    changed = true;
    if (bpf_map_update_elem(map_fd, &key, &value, BPF_ANY) != 0) fail("add a name to", errno);
  }
  return changed;
}

}  // namespace tlsgate::kernel
