// tlsgated: the tlsgate daemon. Loads the config, assembles the gateway,
// reports readiness to systemd, reloads on SIGHUP, stops on SIGTERM/SIGINT.
#include <openssl/ssl.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "config/config_loader.h"
#include "daemon/gateway.h"

int main(int argc, char** argv) {
  CLI::App app{"tlsgated - transparent TLS inspection gateway"};
  std::string config_path = "/etc/tlsgate/tlsgate.toml";
  bool check_only = false;
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  app.add_flag("--check-config", check_only, "validate the configuration and exit");
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

  // Signals are taken synchronously by this thread; workers never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  OPENSSL_init_ssl(0, nullptr);

  std::unique_ptr<tlsgate::daemon::Gateway> gateway;
  try {
    gateway = std::make_unique<tlsgate::daemon::Gateway>(std::move(config), config_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlsgated: cannot start: %s\n", e.what());
    return 1;
  }
  std::string status = gateway->status_line();
  std::fprintf(stderr, "tlsgated: ready (%s)\n", status.c_str());
  sd_notifyf(0, "READY=1\nSTATUS=%s", status.c_str());

  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      sd_notify(0, "RELOADING=1");
      std::string error = gateway->reload();
      if (error.empty()) {
        std::fprintf(stderr, "tlsgated: configuration reloaded\n");
      } else {
        std::fprintf(stderr, "tlsgated: reload refused, keeping the running configuration: %s\n",
                     error.c_str());
      }
      sd_notify(0, "READY=1");
      continue;
    }
    break;
  }
  sd_notify(0, "STOPPING=1");
  std::fprintf(stderr, "tlsgated: stopping\n");
  gateway->stop();
  gateway.reset();
  std::fprintf(stderr, "tlsgated: stopped\n");
  return 0;
}
