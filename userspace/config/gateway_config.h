// Everything /etc/tlsgate/tlsgate.toml configures, with the safe defaults.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "config/icap_service.h"
#include "policy/rule.h"
#include "policy/threat_list_spec.h"

namespace tlsgate::config {

enum class FailMode { open, closed };
enum class NonTlsMode { pass, block };
// Inspected flows that are not HTTP after the handshake.
enum class NonHttpMode { relay, block };
// UDP to an intercept port (QUIC) from clients subject to inspection:
// refused with ICMP port unreachable (browsers fall back to TCP at once), or
// let through uninspected.
enum class QuicMode { block, allow };
// When the revocation status of an upstream certificate cannot be learned
// (CRL unreachable, unusable): soft_fail proceeds and logs, hard_fail treats
// it as the failure class "revocation_unknown".
enum class RevocationMode { soft_fail, hard_fail };

// Where the CA distribution endpoint listens: an address, or every address
// of an interface (bound to the device, so it follows address changes).
struct DistributionListen {
  std::optional<IpAddress> address;  // nullopt: `interface`
  std::string interface;
  uint16_t port = 80;
  std::string to_string() const;  // as written in the config
};

// [ca] (DESIGN.md §6): the CAs themselves live in the state directory and
// change through tlsgatectl; this is how the daemon handles them.
struct CaSettings {
  // The distribution endpoint (install page, CAs as PEM, DER, .mobileconfig);
  // empty: none.
  std::vector<DistributionListen> distribution_listen;
  // How long a replaced CA generation stays published and serves the
  // clients that reject its successor.
  std::chrono::seconds retire_after{std::chrono::hours(24 * 30)};
  // How often a client falling back to the previous CA is offered the new one again.
  std::chrono::seconds fallback_retry{std::chrono::hours(1)};
};

// [suggest] (DESIGN.md §7): bypass suggestions from client rejects and
// upstream validation failures, and automatic bypasses scoped to a device
// group and an SNI.
struct SuggestSettings {
  unsigned threshold = 3;  // sightings within `window`; at least 2
  std::chrono::milliseconds window{std::chrono::minutes(10)};
  bool auto_bypass = false;
  std::chrono::milliseconds auto_bypass_expiry{std::chrono::hours(1)};
  std::chrono::milliseconds retest_interval{std::chrono::minutes(15)};
  // A device group: the client's address widened to this prefix.
  unsigned device_prefix_v4 = 32;
  unsigned device_prefix_v6 = 128;
};

// [capture] (issue 15): where the decrypted capture of flows whose rule has
// `capture` goes. These files hold users' decrypted traffic; nothing is
// written unless a rule asks.
struct CaptureSettings {
  std::filesystem::path directory = "/var/log/tlsgate/capture";
  // A file is closed and a new one started once it holds this many bytes,
  // or once it is this old.
  uint64_t rotate_size = uint64_t{100} << 20;
  std::chrono::milliseconds rotate_age{std::chrono::hours(1)};
  // The files of the directory together: past this, the oldest are deleted.
  uint64_t max_total = uint64_t{1} << 30;
  // Never readable by others, never executable: at most 0640.
  unsigned file_mode = 0600;
  // The user that owns the files; "": the daemon's own.
  std::string owner;
};

struct GatewayConfig {
  // [gateway]
  std::vector<std::string> lan_interfaces;     // required, at least one
  std::vector<uint16_t> intercept_ports{443};  // at most TG_MAX_INTERCEPT_PORTS
  uint16_t listen_port = 15443;                // terminator listener, on 127.0.0.1 and ::1
  unsigned workers = 0;                        // 0: one per online CPU
  FailMode fail_mode = FailMode::open;
  NonTlsMode non_tls = NonTlsMode::block;
  NonHttpMode non_http = NonHttpMode::relay;
  QuicMode quic = QuicMode::block;
  uint32_t steer_mark = 0x746c;   // "tl"; skb->mark of steered packets
  uint32_t route_table = 0x746c;  // policy-routing table with the local route
  size_t max_client_hello = 16384;
  unsigned max_connections_per_client = 1024;  // open terminator connections; 0: no limit
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds idle_timeout{300000};
  // How long a process that handed over to its successor (a hitless restart)
  // lets its remaining flows run before ending them.
  std::chrono::milliseconds drain_timeout{300000};

  // [paths]
  std::filesystem::path state_dir = "/var/lib/tlsgate";  // CA keys live here (0600)
  std::filesystem::path event_log = "/var/log/tlsgate/events.jsonl";
  std::filesystem::path bpf_pin_dir = "/sys/fs/bpf/tlsgate";
  // Unix socket of `tlsgatectl` (mode 0660, group tlsgate when it exists).
  std::filesystem::path control_socket = "/run/tlsgate/control.sock";
  // Prometheus text endpoint (http://<address>/metrics); nullopt: disabled.
  std::optional<Endpoint> metrics_listen =
      Endpoint{IpAddress::v4(in_addr{htonl(INADDR_LOOPBACK)}), 9477};
  // Also send every event to the systemd journal, as structured fields.
  bool event_journal = true;

  // [upstream]
  // PEM bundle of roots trusted for upstream validation; empty: the system store.
  std::filesystem::path trust_store;
  RevocationMode revocation = RevocationMode::soft_fail;
  // How long a "continue" on a warning page lets a client through to that
  // host with that certificate. (untrusted_server_cert lives in `rules`, so
  // a reload replaces it together with the rules.)
  std::chrono::milliseconds prompt_exception_ttl{std::chrono::hours(1)};

  // [ca]
  CaSettings ca;

  // [suggest]
  SuggestSettings suggest;

  // [capture]
  CaptureSettings capture;

  // [[icap]] ...: the services scanned messages go to, in config order.
  std::vector<IcapServiceSettings> icap_services;

  // [[rule]] ...
  policy::RuleSet rules;

  // [[threat_list]] ... (the files are read by the daemon, at start and on reload)
  std::vector<policy::ThreatListSpec> threat_lists;
};

}  // namespace tlsgate::config
