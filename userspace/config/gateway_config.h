// Everything /etc/tlsgate/tlsgate.toml configures, with the safe defaults.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "policy/rule.h"

namespace tlsgate::config {

enum class FailMode { open, closed };
enum class NonTlsMode { pass, block };

struct GatewayConfig {
  // [gateway]
  std::vector<std::string> lan_interfaces;     // required, at least one
  std::vector<uint16_t> intercept_ports{443};  // at most TG_MAX_INTERCEPT_PORTS
  uint16_t listen_port = 15443;                // terminator listener, on 127.0.0.1 and ::1
  unsigned workers = 0;                        // 0: one per online CPU
  FailMode fail_mode = FailMode::open;
  NonTlsMode non_tls = NonTlsMode::block;
  uint32_t steer_mark = 0x746c;   // "tl"; skb->mark of steered packets
  uint32_t route_table = 0x746c;  // policy-routing table with the local route
  size_t max_client_hello = 16384;
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds idle_timeout{300000};

  // [paths]
  std::filesystem::path state_dir = "/var/lib/tlsgate";  // CA keys live here (0600)
  std::filesystem::path event_log = "/var/log/tlsgate/events.jsonl";
  std::filesystem::path bpf_pin_dir = "/sys/fs/bpf/tlsgate";

  // [upstream]
  // PEM bundle of roots trusted for upstream validation; empty: the system store.
  std::filesystem::path trust_store;

  // [[rule]] ...
  policy::RuleSet rules;
};

}  // namespace tlsgate::config
