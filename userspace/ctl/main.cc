// tlsgatectl: the administrator's CLI.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <string>

#include "config/config_loader.h"
#include "tls/ca_store.h"

namespace {

// The state directory: --state-dir wins, else the config file's.
std::filesystem::path state_dir(const std::string& config_path, const std::string& override_dir) {
  if (!override_dir.empty()) return override_dir;
  return tlsgate::config::load_config_file(config_path).state_dir;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tlsgatectl - administer the tlsgate inspection gateway"};
  app.require_subcommand(1);
  std::string config_path = "/etc/tlsgate/tlsgate.toml";
  std::string state_override;
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  app.add_option("--state-dir", state_override, "state directory (overrides the config file)");

  CLI::App* ca = app.add_subcommand("ca", "the gateway's certificate authority");
  ca->require_subcommand(1);
  CLI::App* ca_export =
      ca->add_subcommand("export", "print the root CA certificate (PEM) to install on clients");

  CLI11_PARSE(app, argc, argv);

  try {
    if (ca_export->parsed()) {
      auto store = tlsgate::tls::CaStore::open_existing(state_dir(config_path, state_override));
      std::fputs(store.root_pem().c_str(), stdout);
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlsgatectl: %s\n", e.what());
    return 1;
  }
  return 0;
}
