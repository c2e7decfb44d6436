#include "capture/capture_file_set.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

namespace tlsgate::capture {

namespace {

std::string utc_stamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
  return text;
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

bool is_capture_file_name(std::string_view name) {
  for (std::string_view prefix : {"keylog-", "pcapng-", "plaintext-"}) {
    if (name.starts_with(prefix) && name.find("Z-") != std::string_view::npos) return true;
  }
  return false;
}

CaptureFileSet::CaptureFileSet(const config::CaptureSettings& settings, std::string prefix,
                               std::string suffix, std::string header, FileNotice notice)
    : settings_(settings),
      prefix_(std::move(prefix)),
      suffix_(std::move(suffix)),
      header_(std::move(header)),
      notice_(std::move(notice)) {}

bool CaptureFileSet::write(std::string_view bytes, std::string* error) {
  const bool too_big = fd_ && written_ + bytes.size() > settings_.rotate_size;
  const bool too_old = fd_ && std::chrono::steady_clock::now() - opened_at_ >= settings_.rotate_age;
  if (fd_ && (too_big || too_old)) {
    fd_.reset();
    if (notice_) notice_("rotated", path_, written_);
  }
  if (!fd_ && !open_next(error)) return false;
  if (!write_all(fd_.get(), bytes)) {
    *error = "cannot write " + path_.string() + ": " + std::strerror(errno);
    fd_.reset();
    return false;
  }
  written_ += bytes.size();
  return true;
}

bool CaptureFileSet::open_next(std::string* error) {
  // The directory holds decrypted traffic: only its owner may list it.
  if (::mkdir(settings_.directory.c_str(), 0700) != 0 && errno != EEXIST) {
    *error = "cannot create " + settings_.directory.string() + ": " + std::strerror(errno);
    return false;
  }
  if (!owner_resolved_ && !settings_.owner.empty()) {
    const passwd* pw = ::getpwnam(settings_.owner.c_str());
    if (pw == nullptr) {
      *error = "[capture] owner \"" + settings_.owner + "\" is not a user of this system";
      return false;
    }
    owner_uid_ = pw->pw_uid;
  }
  owner_resolved_ = true;
  ++sequence_;
  char seq[16];
  std::snprintf(seq, sizeof seq, "%06llu", static_cast<unsigned long long>(sequence_));
  path_ = settings_.directory / (prefix_ + "-" + utc_stamp() + "-" + seq + suffix_);
  // O_EXCL: never append to (or through a link into) a file we did not make.
  UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                     settings_.file_mode));
  if (!fd) {
    *error = "cannot create " + path_.string() + ": " + std::strerror(errno);
    return false;
  }
  // The umask may have narrowed the mode; a group bit asked for is meant.
  if (::fchmod(fd.get(), settings_.file_mode) != 0 ||
      (owner_uid_ != static_cast<uid_t>(-1) &&
       ::fchown(fd.get(), owner_uid_, static_cast<gid_t>(-1)) != 0)) {
    *error = "cannot set the mode or owner of " + path_.string() + ": " + std::strerror(errno);
    ::unlink(path_.c_str());
    return false;
  }
  if (!write_all(fd.get(), header_)) {
    *error = "cannot write " + path_.string() + ": " + std::strerror(errno);
    ::unlink(path_.c_str());
    return false;
  }
  fd_ = std::move(fd);
  written_ = header_.size();
  opened_at_ = std::chrono::steady_clock::now();
  if (notice_) notice_("opened", path_, 0);
  enforce_total_cap();
  return true;
}

// Files of every format count toward the cap; their names start with a
// format prefix and a UTC stamp, so by modification time is oldest first.
void CaptureFileSet::enforce_total_cap() {
  struct Entry {
    std::filesystem::path path;
    std::filesystem::file_time_type mtime;
    uint64_t size;
  };
  std::vector<Entry> files;
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(settings_.directory, ec)) {
    std::error_code e;
    if (!entry.is_regular_file(e) || !is_capture_file_name(entry.path().filename().string())) {
      continue;
    }
    const uint64_t size = entry.file_size(e);
    if (e) continue;
    files.push_back({entry.path(), entry.last_write_time(e), size});
    total += size;
  }
  std::sort(files.begin(), files.end(), [](const Entry& a, const Entry& b) {
    return a.mtime != b.mtime ? a.mtime < b.mtime : a.path < b.path;
  });
  // Room for the file just opened to grow to its full size.
  const uint64_t budget =
      settings_.max_total > settings_.rotate_size ? settings_.max_total - settings_.rotate_size : 0;
  for (const Entry& f : files) {
    if (total <= budget) break;
    if (f.path == path_) continue;
    if (::unlink(f.path.c_str()) == 0) {
      total -= f.size;
      if (notice_) notice_("deleted", f.path, f.size);
    }
  }
}

}  // namespace tlsgate::capture
