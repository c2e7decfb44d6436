#include "config/restart_settings.h"

namespace tlsgate::config {

namespace {

std::vector<std::string> listen_strings(const std::vector<DistributionListen>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.to_string());
  return out;
}

// [[icap]] as written (the workers' clients are built from it at start).
std::vector<std::string> icap_strings(const std::vector<IcapServiceSettings>& services) {
  std::vector<std::string> out;
  for (const auto& s : services) {
    out.push_back(s.name + " " + s.url.to_string() + " " + to_string(s.method) + " " +
                  std::to_string(s.timeout.count()) + " " + std::to_string(s.max_connections) +
                  " " + to_string(s.on_error) + " " + std::to_string(s.preview) + " " +
                  std::to_string(s.max_scan_size) + " " + to_string(s.oversize));
  }
  return out;
}

}  // namespace

std::vector<std::string> settings_needing_restart(const GatewayConfig& a, const GatewayConfig& b) {
  std::vector<std::string> out;
  auto check = [&out](bool differs, const char* key) {
    if (differs) out.emplace_back(key);
  };
  check(a.lan_interfaces != b.lan_interfaces, "gateway.lan_interfaces");
  check(a.intercept_ports != b.intercept_ports, "gateway.intercept_ports");
  check(a.listen_port != b.listen_port, "gateway.listen_port");
  check(a.workers != b.workers, "gateway.workers");
  check(a.fail_mode != b.fail_mode, "gateway.fail_mode");
  check(a.non_tls != b.non_tls, "gateway.non_tls");
  check(a.non_http != b.non_http, "gateway.non_http");
  check(a.quic != b.quic, "gateway.quic");
  check(a.steer_mark != b.steer_mark, "gateway.steer_mark");
  check(a.route_table != b.route_table, "gateway.route_table");
  check(a.max_client_hello != b.max_client_hello, "gateway.max_client_hello");
  check(a.max_connections_per_client != b.max_connections_per_client,
        "gateway.max_connections_per_client");
  check(a.handshake_timeout != b.handshake_timeout, "gateway.handshake_timeout");
  check(a.connect_timeout != b.connect_timeout, "gateway.connect_timeout");
  check(a.idle_timeout != b.idle_timeout, "gateway.idle_timeout");
  check(a.state_dir != b.state_dir, "paths.state_dir");
  check(a.event_log != b.event_log, "paths.event_log");
  check(a.bpf_pin_dir != b.bpf_pin_dir, "paths.bpf_pin_dir");
  check(a.control_socket != b.control_socket, "paths.control_socket");
  check(a.metrics_listen != b.metrics_listen, "paths.metrics_listen");
  check(a.event_journal != b.event_journal, "paths.event_journal");
  check(a.trust_store != b.trust_store, "upstream.trust_store");
  check(a.revocation != b.revocation, "upstream.revocation");
  check(a.prompt_exception_ttl != b.prompt_exception_ttl, "upstream.prompt_exception_ttl");
  check(listen_strings(a.ca.distribution_listen) != listen_strings(b.ca.distribution_listen),
        "ca.distribution_listen");
  check(icap_strings(a.icap_services) != icap_strings(b.icap_services), "icap");
  check(a.ca.retire_after != b.ca.retire_after, "ca.retire_after");
  check(a.ca.fallback_retry != b.ca.fallback_retry, "ca.fallback_retry");
  return out;
}

}  // namespace tlsgate::config
