#include "kernel/bpf_pins.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/unique_fd.h"

namespace tlsgate::kernel {

namespace {

const std::filesystem::path kStandardBpffs = "/sys/fs/bpf";

bool on_bpffs(const std::filesystem::path& path) {
  struct statfs fs {};
  return statfs(path.c_str(), &fs) == 0 && static_cast<unsigned long>(fs.f_type) == BPF_FS_MAGIC;
}

[[noreturn]] void fail(const std::string& step, const std::filesystem::path& path, int err) {
  throw std::runtime_error(step + " " + path.string() + ": " + std::strerror(err));
}

}  // namespace

bool prepare_pin_dir(const std::filesystem::path& pin_dir) {
  std::filesystem::path parent = pin_dir.parent_path();
  if (!on_bpffs(parent)) {
    if (parent != kStandardBpffs) fail("pin directory is not on a BPF filesystem:", parent, EINVAL);
    if (mount("bpf", parent.c_str(), "bpf", 0, "mode=0700") != 0) {
      fail("mount bpffs on", parent, errno);
    }
  }
  if (mkdir(pin_dir.c_str(), 0700) == 0) return true;
  if (errno != EEXIST) fail("create pin directory", pin_dir, errno);
  return false;
}

void drop_incompatible_pin(const bpf_map* map, const std::filesystem::path& path) {
  UniqueFd fd(bpf_obj_get(path.c_str()));
  if (!fd) return;  // nothing pinned there (or not a map): libbpf pins anew
  bpf_map_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) fail("inspect pinned map", path, errno);
  bool compatible =
      info.type == static_cast<__u32>(bpf_map__type(map)) &&
      info.key_size == bpf_map__key_size(map) && info.value_size == bpf_map__value_size(map) &&
      info.max_entries == bpf_map__max_entries(map) && info.map_flags == bpf_map__map_flags(map);
  if (!compatible && unlink(path.c_str()) != 0) fail("unpin incompatible map", path, errno);
}

void remove_pins(const std::filesystem::path& pin_dir, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    std::filesystem::path path = pin_dir / name;
    if (unlink(path.c_str()) != 0 && errno != ENOENT) fail("unpin", path, errno);
  }
  if (rmdir(pin_dir.c_str()) != 0 && errno != ENOENT) fail("remove pin directory", pin_dir, errno);
}

}  // namespace tlsgate::kernel
