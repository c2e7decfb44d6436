// tlsgated: the tlsgate daemon. Loads the config, assembles the gateway,
// opens the control socket and the metrics endpoint, speaks systemd's
// notify protocol (READY, STATUS, RELOADING, WATCHDOG, STOPPING), reloads on
// SIGHUP, stops on SIGTERM/SIGINT.
#include <grp.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "config/config_loader.h"
#include "control/control_server.h"
#include "daemon/gateway.h"
#include "daemon/gateway_control.h"
#include "daemon/gateway_metrics.h"
#include "events/journal_fields.h"
#include "metrics/metrics_server.h"

namespace {

using namespace tlsgate;
using Clock = std::chrono::steady_clock;

// The group whose members may use tlsgatectl (DESIGN.md §8).
constexpr const char* kAdminGroup = "tlsgate";

uint64_t monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

void notify_status(const std::string& status) {
  sd_notifyf(0, "STATUS=%s", status.c_str());
}

// Feeds systemd's watchdog at half its interval, and only while every
// worker answers its pings: a stuck worker gets the daemon restarted.
class Watchdog {
 public:
  Watchdog() {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
      interval_ = std::chrono::microseconds(usec / 2);
      next_ = Clock::now();
    }
  }
  bool enabled() const { return interval_.has_value(); }
  // How long sigtimedwait may sleep before the next tick.
  timespec until_next() const {
    const auto left = std::max(Clock::duration::zero(), next_ - Clock::now());
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    return {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  }
  void tick_if_due(terminator::Terminator& terminator) {
    if (!interval_ || Clock::now() < next_) return;
    next_ = Clock::now() + *interval_;
    if (terminator.workers_answered_then_ping()) {
      sd_notify(0, "WATCHDOG=1");
      if (stalled_) std::fprintf(stderr, "tlsgated: every worker answers again\n");
      stalled_ = false;
    } else if (!stalled_) {
      stalled_ = true;
      std::fprintf(stderr,
                   "tlsgated: a worker did not answer its ping; withholding the "
                   "watchdog keep-alive\n");
      notify_status("a terminator worker is not answering");
    }
  }

 private:
  std::optional<Clock::duration> interval_;
  Clock::time_point next_{};
  bool stalled_ = false;
};

int run(config::GatewayConfig config, const std::string& config_path) {
  // Signals are taken synchronously by this thread; no other thread sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  OPENSSL_init_ssl(0, nullptr);

  const auto control_socket = config.control_socket;
  const auto metrics_listen = config.metrics_listen;
  std::unique_ptr<daemon::Gateway> gateway;
  std::unique_ptr<daemon::GatewayControl> control;
  std::unique_ptr<control::ControlServer> control_server;
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  try {
    gateway = std::make_unique<daemon::Gateway>(std::move(config), config_path);
    control = std::make_unique<daemon::GatewayControl>(*gateway, notify_status);
    control::AccessPolicy access{::geteuid(), control::group_id(kAdminGroup)};
    control_server = std::make_unique<control::ControlServer>(
        control_socket, access,
        [&control](const nlohmann::json& request, const control::PeerCredentials& peer) {
          return control->handle(request, peer);
        });
    if (metrics_listen) {
      metrics_server = std::make_unique<metrics::MetricsServer>(
          *metrics_listen,
          [&gateway, &control] { return daemon::render_metrics(*gateway, control->counters()); });
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlsgated: cannot start: %s\n", e.what());
    sd_notifyf(0, "STATUS=cannot start: %s", e.what());
    return 1;  // the destructors remove whatever was installed
  }
  control_server->start();
  if (metrics_server) metrics_server->start();

  const std::string status = control->status_line();
  std::fprintf(stderr, "tlsgated: ready (%s)\n", status.c_str());
  sd_notifyf(0, "READY=1\nSTATUS=%s", status.c_str());

  Watchdog watchdog;
  while (true) {
    watchdog.tick_if_due(gateway->terminator());
    int sig = 0;
    if (watchdog.enabled()) {
      const timespec wait = watchdog.until_next();
      sig = sigtimedwait(&signals, nullptr, &wait);
    } else {
      sig = sigwaitinfo(&signals, nullptr);
    }
    if (sig < 0) continue;  // the watchdog's timeout, or EINTR
    if (sig == SIGHUP) {
      sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
                 static_cast<unsigned long long>(monotonic_usec()));
      control->reload();  // logs and updates STATUS either way
      sd_notify(0, "READY=1");
      continue;
    }
    break;
  }
  sd_notify(0, "STOPPING=1\nSTATUS=stopping");
  std::fprintf(stderr, "tlsgated: stopping\n");
  // No new requests while the gateway comes apart.
  if (metrics_server) metrics_server->stop();
  control_server->stop();
  gateway->stop();
  metrics_server.reset();
  control_server.reset();
  control.reset();
  gateway.reset();
  std::fprintf(stderr, "tlsgated: stopped\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tlsgated - transparent TLS inspection gateway"};
  std::string config_path = "/etc/tlsgate/tlsgate.toml";
  bool check_only = false;
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  app.add_flag("--check-config", check_only, "validate the configuration and exit");
  app.set_version_flag("--version", std::string("tlsgated ") + TLSGATE_VERSION);
  CLI11_PARSE(app, argc, argv);

  tlsgate::config::GatewayConfig config;
  try {
    config = tlsgate::config::load_config_file(config_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlsgated: %s\n", e.what());
    return 2;
  }
  if (check_only) {
    std::fprintf(stderr, "tlsgated: %s: configuration OK\n", config_path.c_str());
    return 0;
  }
  return run(std::move(config), config_path);
}
