// Pinned BPF objects under the pin directory: what makes maps (and so the
// flow table) survive a daemon restart, and what a cleanup must remove.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

struct bpf_map;

namespace tlsgate::kernel {

// Makes sure `pin_dir` exists on a BPF filesystem, mounting one on
// /sys/fs/bpf when that (the standard place) is where it belongs and nothing
// is mounted there yet. Returns true if it created `pin_dir`.
bool prepare_pin_dir(const std::filesystem::path& pin_dir);

// Unpins the map pinned at `path` if its layout differs from `map`'s (left
// by another tlsgate version): libbpf would refuse to reuse it, and a stale
// flow table is worth less than a working install.
void drop_incompatible_pin(const bpf_map* map, const std::filesystem::path& path);

// Unlinks `names` in `pin_dir`, then removes `pin_dir`. Absent entries are
// skipped; throws if `pin_dir` still holds something else.
void remove_pins(const std::filesystem::path& pin_dir, const std::vector<std::string>& names);

}  // namespace tlsgate::kernel
