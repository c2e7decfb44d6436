#include "daemon/systemd_restart.h"

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace tlsgate::daemon {

namespace {

constexpr const char* kSystemd = "org.freedesktop.systemd1";
constexpr const char* kListenerName = "listener";
constexpr uint64_t kBusTimeoutUsec = 2'000'000;

struct BusUnref {
  void operator()(sd_bus* bus) const { sd_bus_flush_close_unref(bus); }
};
struct MessageUnref {
  void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
struct FreeString {
  void operator()(char* s) const { std::free(s); }
};
using Bus = std::unique_ptr<sd_bus, BusUnref>;
using Message = std::unique_ptr<sd_bus_message, MessageUnref>;

// An sd_bus_error freed on scope exit.
struct BusError {
  sd_bus_error error = SD_BUS_ERROR_NULL;
  ~BusError() { sd_bus_error_free(&error); }
};

// The D-Bus object of the unit this process runs in; empty when none.
std::string own_unit_path(sd_bus* bus) {
  BusError e;
  sd_bus_message* raw = nullptr;
  if (sd_bus_call_method(bus, kSystemd, "/org/freedesktop/systemd1",
                         "org.freedesktop.systemd1.Manager", "GetUnitByPID", &e.error, &raw, "u",
                         static_cast<uint32_t>(::getpid())) < 0) {
    return {};
  }
  Message reply(raw);
  const char* path = nullptr;
  if (sd_bus_message_read(reply.get(), "o", &path) < 0 || path == nullptr) return {};
  return path;
}

// The object of the job queued for `unit`; empty when none.
std::string queued_job_path(sd_bus* bus, const std::string& unit) {
  BusError e;
  sd_bus_message* raw = nullptr;
  if (sd_bus_get_property(bus, kSystemd, unit.c_str(), "org.freedesktop.systemd1.Unit", "Job",
                          &e.error, &raw, "(uo)") < 0) {
    return {};
  }
  Message reply(raw);
  uint32_t id = 0;
  const char* path = nullptr;
  if (sd_bus_message_read(reply.get(), "(uo)", &id, &path) < 0 || id == 0 || path == nullptr) {
    return {};
  }
  return path;
}

}  // namespace

bool systemd_restart_queued() {
  // Only a service systemd started has an invocation id; elsewhere (the lab
  // without systemd, a shell) there is nothing to ask.
  if (std::getenv("INVOCATION_ID") == nullptr) return false;
  sd_bus* raw = nullptr;
  if (sd_bus_open_system(&raw) < 0) return false;
  Bus bus(raw);
  sd_bus_set_method_call_timeout(bus.get(), kBusTimeoutUsec);
  const std::string unit = own_unit_path(bus.get());
  if (unit.empty()) return false;
  const std::string job = queued_job_path(bus.get(), unit);
  if (job.empty()) return false;
  BusError e;
  char* type_raw = nullptr;
  if (sd_bus_get_property_string(bus.get(), kSystemd, job.c_str(), "org.freedesktop.systemd1.Job",
                                 "JobType", &e.error, &type_raw) < 0) {
    return false;
  }
  std::unique_ptr<char, FreeString> type(type_raw);
  return std::strcmp(type.get(), "restart") == 0;
}

bool store_listeners_for_restart(const std::vector<UniqueFd>& listeners) {
  if (listeners.empty()) return false;
  std::vector<int> fds;
  for (const auto& l : listeners) fds.push_back(l.get());
  const std::string state = std::string("FDSTORE=1\nFDNAME=") + kListenerName;
  return sd_pid_notify_with_fds(0, 0, state.c_str(), fds.data(),
                                static_cast<unsigned>(fds.size())) > 0;
}

std::vector<UniqueFd> take_stored_listeners() {
  char** names = nullptr;
  const int n = sd_listen_fds_with_names(1, &names);
  std::vector<UniqueFd> listeners;
  for (int i = 0; i < n; ++i) {
    UniqueFd fd(SD_LISTEN_FDS_START + i);
    if (names != nullptr && names[i] != nullptr && std::strcmp(names[i], kListenerName) == 0 &&
        sd_is_socket(fd.get(), 0, SOCK_STREAM, 1) > 0) {
      listeners.push_back(std::move(fd));
    }
  }
  if (names != nullptr) {
    for (int i = 0; i < n; ++i) std::free(names[i]);
    std::free(names);
  }
  if (n > 0) {
    // Out of the store: a crash from here on must leave no listener behind.
    const std::string state = std::string("FDSTOREREMOVE=1\nFDNAME=") + kListenerName;
    sd_notify(0, state.c_str());
  }
  return listeners;
}

}  // namespace tlsgate::daemon
