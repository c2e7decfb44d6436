// Reads tlsgate.toml (toml++) into a GatewayConfig. Every problem is reported
// with the file, line and what is wrong; nothing is silently defaulted when a
// key is present but invalid, and unknown keys are errors (typos must not
// silently weaken policy).
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include "config/gateway_config.h"

namespace tlsgate::config {

class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, int line, std::string problem);
  const std::string& file() const { return file_; }
  int line() const { return line_; }  // 0 when the problem has no line
  const std::string& problem() const { return problem_; }

 private:
  std::string file_;
  int line_;
  std::string problem_;
};

// Throws ConfigError ("<file>:<line>: <problem>") on any error.
GatewayConfig load_config_file(const std::filesystem::path& path);
// The file's text (at most 1 MiB); throws ConfigError when it cannot be read.
std::string read_config_text(const std::filesystem::path& path);
// Same as load_config_file, from text; `source_name` is used in messages.
GatewayConfig load_config_text(std::string_view toml_text, std::string source_name);

}  // namespace tlsgate::config
