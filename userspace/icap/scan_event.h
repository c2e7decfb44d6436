// The `icap` event (DESIGN.md §7): one per scanned message, with the flow's
// client, the URL, what the service said and what it cost.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "icap/scan_verdict.h"

namespace tlsgate::icap {

struct ScanEvent {
  std::string service;
  std::string method;  // "respmod" | "reqmod"
  std::string url;     // https://authority/path
  std::string client;  // "10.0.0.5:51234"
  std::string server;  // original destination
  Verdict verdict = Verdict::error;
  std::string threat;  // infected
  std::string error;   // error: why
  std::string action;  // what the gateway did: "pass" | "block" | "replace"
  std::string istag;
  uint64_t bytes = 0;  // body bytes handed to the service (held, for oversize)
  uint64_t ms = 0;
};

nlohmann::json to_json(const ScanEvent& e);

}  // namespace tlsgate::icap
