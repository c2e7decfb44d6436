#include "kernel/learned_addresses.h"

#include <bpf/bpf.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace tlsgate::kernel {

tg_learned_key learned_key(const Endpoint& server) {
  tg_learned_key key{};
  std::memcpy(key.addr, server.address.bytes().data(), server.address.size());
  key.port = htons(server.port);
  key.family = static_cast<__u8>(server.address.family());
  return key;
}

uint64_t monotonic_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(now.tv_nsec);
}

std::optional<tg_learned_value> learned_entry(int map_fd, const Endpoint& server) {
  tg_learned_key key = learned_key(server);
  tg_learned_value value{};
  if (bpf_map_lookup_elem(map_fd, &key, &value) != 0) return std::nullopt;
  if (value.expires_ns <= monotonic_ns()) return std::nullopt;
  return value;
}

void clear_learned(int map_fd) {
  std::vector<tg_learned_key> keys;
  tg_learned_key next{}, prev{};
  const void* at = nullptr;
  while (bpf_map_get_next_key(map_fd, at, &next) == 0) {
    keys.push_back(next);
    prev = next;
    at = &prev;
  }
  for (const auto& key : keys) {
    if (bpf_map_delete_elem(map_fd, &key) != 0 && errno != ENOENT) {
      throw std::runtime_error(std::string("clear learned: ") + std::strerror(errno));
    }
  }
}

void learn_address(int map_fd, const Endpoint& server, tg_learned_verdict verdict,
                   std::chrono::seconds ttl) {
  if (verdict == TG_LEARNED_BYPASS_ONLY) {
    auto current = learned_entry(map_fd, server);
    if (current && current->verdict == TG_LEARNED_MIXED) return;
  }
  tg_learned_key key = learned_key(server);
  tg_learned_value value{};
  value.verdict = verdict;
  value.expires_ns = monotonic_ns() + static_cast<uint64_t>(ttl.count()) * 1'000'000'000u;
  if (bpf_map_update_elem(map_fd, &key, &value, BPF_ANY) != 0) {
    throw std::runtime_error("update learned (" + server.to_string() +
                             "): " + std::strerror(errno));
  }
}

}  // namespace tlsgate::kernel
