// The capture files of one format in the [capture] directory: the file
// being written, rotation by size and age, and the directory's total cap
// (oldest files deleted first). Used by one thread (capture_writer.h).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "common/unique_fd.h"
#include "config/gateway_config.h"

namespace tlsgate::capture {

// What happened to a capture file, for the `capture` event:
// "opened", "rotated" (closed full or old), "deleted" (over the total cap).
using FileNotice =
    std::function<void(std::string_view what, const std::filesystem::path& file, uint64_t bytes)>;

// A name this component writes ("keylog-20261208T013512Z-000001.keys"): only
// those count toward the total cap and are ever deleted.
bool is_capture_file_name(std::string_view name);

class CaptureFileSet {
 public:
  // `prefix` and `suffix` name the files: <prefix>-<UTC time>-<sequence><suffix>.
  // `header`: the bytes every file starts with (a pcapng section header, or "").
  CaptureFileSet(const config::CaptureSettings& settings, std::string prefix, std::string suffix,
                 std::string header, FileNotice notice);

  // Appends `bytes` to the current file, opening or rotating first as due.
  // False (with *error set) when the file cannot be opened or written.
  bool write(std::string_view bytes, std::string* error);
  const std::filesystem::path& current() const { return path_; }

 private:
  bool open_next(std::string* error);
  void enforce_total_cap();

  const config::CaptureSettings settings_;
  const std::string prefix_;
  const std::string suffix_;
  const std::string header_;
  FileNotice notice_;
  UniqueFd fd_;
  std::filesystem::path path_;
  uint64_t written_ = 0;
  std::chrono::steady_clock::time_point opened_at_;
  uint64_t sequence_ = 0;
  uid_t owner_uid_ = static_cast<uid_t>(-1);
  bool owner_resolved_ = false;
};

}  // namespace tlsgate::capture
