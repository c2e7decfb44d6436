// tlsgatectl's end of the control socket.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/unique_fd.h"
#include "control/control_protocol.h"

namespace tlsgate::control {

// The daemon could not be reached, or it refused the request (the message
// is the daemon's, or says how to reach it).
class ControlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ControlClient {
 public:
  // Connects; throws ControlError with a hint (is tlsgated running? are you
  // in group tlsgate?) when it cannot.
  explicit ControlClient(const std::filesystem::path& socket_path);

  // Sends one request and returns the "result" of an ok answer; throws
  // ControlError with the daemon's "error" otherwise.
  nlohmann::json call(const nlohmann::json& request);

 private:
  static nlohmann::json result_of(const nlohmann::json& response);

  UniqueFd fd_;
  std::optional<LineReader> reader_;
};

}  // namespace tlsgate::control
