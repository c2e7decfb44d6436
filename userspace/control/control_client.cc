#include "control/control_client.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace tlsgate::control {

namespace {

constexpr timeval kIoTimeout{30, 0};  // a reload or rule change waits for the kernel maps

}  // namespace

ControlClient::ControlClient(const std::filesystem::path& socket_path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string text = socket_path.string();
  if (text.size() >= sizeof addr.sun_path) {
    throw ControlError("control socket path is too long: " + text);
  }
  std::memcpy(addr.sun_path, text.c_str(), text.size() + 1);
  fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd_) throw ControlError(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    std::string hint;
    if (err == ENOENT || err == ECONNREFUSED) hint = " (is tlsgated running?)";
    if (err == EACCES || err == EPERM) hint = " (run as root or as a member of group tlsgate)";
    throw ControlError("cannot connect to " + text + ": " + std::strerror(err) + hint);
  }
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &kIoTimeout, sizeof kIoTimeout);
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &kIoTimeout, sizeof kIoTimeout);
  reader_.emplace(fd_.get(), kMaxResponseBytes);
}

nlohmann::json ControlClient::call(const nlohmann::json& request) {
  nlohmann::json response;
  try {
    try {
      write_all(fd_.get(), encode_line(request));
    } catch (const std::exception&) {
      // The daemon may have answered and closed before reading (a refused
      // peer): its answer says why; without one, the write error does.
      std::optional<std::string> early;
      try {
        early = reader_->next();
      } catch (const std::exception&) {
      }
      if (!early) throw;
      response = nlohmann::json::parse(*early);
      return result_of(response);
    }
    auto line = reader_->next();
    if (!line) throw ControlError("tlsgated closed the connection without answering");
    response = nlohmann::json::parse(*line);
  } catch (const ControlError&) {
    throw;
  } catch (const std::exception& e) {
    throw ControlError(std::string("control socket: ") + e.what());
  }
  return result_of(response);
}

nlohmann::json ControlClient::result_of(const nlohmann::json& response) {
  if (!response.is_object() || !response.contains("ok") || !response["ok"].is_boolean()) {
    throw ControlError("tlsgated sent an answer this tlsgatectl does not understand");
  }
  if (!response["ok"].get<bool>()) {
    throw ControlError(response.value("error", std::string("request refused")));
  }
  return response.value("result", nlohmann::json());
}

}  // namespace tlsgate::control
