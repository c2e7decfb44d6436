#include "kernel/lpm_sync.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>
#include <vector>

#include "tlsgate_abi.h"

namespace tlsgate::kernel {

namespace {

using LpmKey = std::vector<uint8_t>;  // the key's bytes: u32 prefixlen, then the address

size_t address_size(int family) {
  return family == AF_INET ? 4 : 16;
}

LpmKey make_key(const Cidr& prefix) {
  size_t n = prefix.network().size();
  LpmKey key(sizeof(__u32) + n);
  auto prefixlen = static_cast<__u32>(prefix.prefix_len());
  std::memcpy(key.data(), &prefixlen, sizeof(prefixlen));
  std::memcpy(key.data() + sizeof(prefixlen), prefix.network().bytes().data(), n);
  return key;
}

[[noreturn]] void fail(const std::string& step, const std::string& map_name, int err) {
  throw std::runtime_error(step + " " + map_name + ": " + std::strerror(err));
}

std::vector<LpmKey> current_keys(int map_fd, size_t key_size, const std::string& map_name) {
  std::vector<LpmKey> keys;
  LpmKey next(key_size);
  const void* prev = nullptr;
  while (bpf_map_get_next_key(map_fd, prev, next.data()) == 0) {
    keys.push_back(next);
    prev = keys.back().data();
  }
  if (errno != ENOENT) fail("list", map_name, errno);
  return keys;
}

}  // namespace

void sync_lpm_trie(int map_fd, const std::string& map_name, int family,
                   std::span<const policy::KernelBypassEntry> entries) {
  static_assert(sizeof(tg_lpm_v4_key) == sizeof(__u32) + 4);
  static_assert(sizeof(tg_lpm_v6_key) == sizeof(__u32) + 16);
  const size_t key_size = sizeof(__u32) + address_size(family);

  std::map<LpmKey, tg_lpm_value> wanted;
  for (const auto& entry : entries) {
    if (entry.prefix.network().family() != family) continue;
    // The first rule wins, as in the rule matcher.
    wanted.emplace(make_key(entry.prefix), tg_lpm_value{static_cast<__u32>(entry.rule_index)});
  }
  if (wanted.size() > TG_LPM_MAX_ENTRIES) fail("too many prefixes for", map_name, E2BIG);

  for (const auto& key : current_keys(map_fd, key_size, map_name)) {
    if (wanted.count(key) != 0) continue;
    if (bpf_map_delete_elem(map_fd, key.data()) != 0 && errno != ENOENT) {
      fail("delete a prefix from", map_name, errno);
    }
  }
  for (const auto& [key, value] : wanted) {
    if (bpf_map_update_elem(map_fd, key.data(), &value, BPF_ANY) != 0) {
      fail("add a prefix to", map_name, errno);
    }
  }
}

}  // namespace tlsgate::kernel
