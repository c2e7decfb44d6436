// One live flow as `tlsgatectl flows` shows it, taken on its worker's thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/ip_address.h"

namespace tlsgate::terminator {

struct FlowSnapshot {
  unsigned worker = 0;
  Endpoint client;
  Endpoint server;    // the original destination
  std::string state;  // Connection::State, e.g. "relaying"
  std::chrono::milliseconds age{0};
  std::string sni;     // "" without SNI or before the ClientHello
  std::string action;  // "inspect" | "bypass" | "block", "" before the verdict
  std::string rule;    // the rule that decided, "" before the verdict
  uint64_t bytes_from_client = 0;
  uint64_t bytes_from_server = 0;
};

struct FlowListing {
  std::vector<FlowSnapshot> flows;
  unsigned workers_not_answering = 0;  // their flows are missing from `flows`
};

}  // namespace tlsgate::terminator
