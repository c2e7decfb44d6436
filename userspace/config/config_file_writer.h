// Writes tlsgate.toml back after a rule change made through the control
// socket, so that the file stays the one source of truth.
#pragma once

#include <filesystem>
#include <string_view>

namespace tlsgate::config {

// Replaces the file `path` (a symlink is followed) with `text` atomically: a
// temporary file in the same directory is written, synced, given the old
// file's mode and owner, and renamed over it. Readers see the old or the new
// file, never a mix. Throws std::system_error naming the step.
void replace_config_file(const std::filesystem::path& path, std::string_view text);

}  // namespace tlsgate::config
