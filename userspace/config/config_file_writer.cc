#include "config/config_file_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "common/unique_fd.h"

namespace tlsgate::config {

namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

void write_all(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Removes the temporary file unless it was renamed into place.
class TempFile {
 public:
  explicit TempFile(std::filesystem::path path) : path_(std::move(path)) {}
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  void keep() { path_.clear(); }

 private:
  std::filesystem::path path_;
};

}  // namespace

void replace_config_file(const std::filesystem::path& path, std::string_view text) {
  const std::filesystem::path target = std::filesystem::weakly_canonical(path);
  struct stat old {};
  if (::stat(target.c_str(), &old) != 0) fail("stat", target);

  std::string name = (target.parent_path() / ("." + target.filename().string() + ".XXXXXX"));
  UniqueFd fd(::mkostemp(name.data(), O_CLOEXEC));
  if (!fd) fail("create a temporary file next to", target);
  TempFile temp(name);
  write_all(fd.get(), text, name);
  if (::fchmod(fd.get(), old.st_mode & 07777) != 0) fail("chmod", name);
  // Only root may give the file away; otherwise it keeps our ownership,
  // which is the daemon's own user in a configuration directory it owns.
  if (::fchown(fd.get(), old.st_uid, old.st_gid) != 0 && errno != EPERM) fail("chown", name);
  if (::fsync(fd.get()) != 0) fail("fsync", name);
  if (::rename(name.c_str(), target.c_str()) != 0) fail("rename over", target);
  temp.keep();
  UniqueFd dir(::open(target.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir) ::fsync(dir.get());  // the rename itself is durable once the directory is synced
}

}  // namespace tlsgate::config
