// Structured events (DESIGN.md §7): one JSON object per line, appended to the
// event file and written to stdout, and sent to journald with the same
// fields. Thread-safe; one write per event.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/unique_fd.h"

namespace tlsgate::events {

// Emitted once per flow, when the flow ends (or is refused).
struct FlowEvent {
  std::string client;  // "10.0.0.5:51234"
  std::string server;  // original destination, "192.0.2.1:443"
  std::optional<std::string> sni;
  std::string action;  // "inspect" | "bypass" | "block"
  std::string rule;    // rule name or "default"
  // Why the flow ended as it did, e.g. "closed", "upstream_cert_invalid:expired".
  std::string reason;
  uint64_t bytes_from_client = 0;  // application bytes client -> server
  uint64_t bytes_from_server = 0;  // application bytes server -> client
  std::chrono::milliseconds duration{0};
  std::optional<std::string> alpn;                  // negotiated with the client
  std::optional<std::string> tls_version;           // "TLSv1.3" on the upstream side
  std::optional<std::string> upstream_cert_sha256;  // hex, of the validated leaf
};

// Emitted for every upstream certificate/protocol validation failure.
struct TlsEvent {
  std::string client;
  std::string server;
  std::optional<std::string> sni;
  std::string error_class;  // "expired", "hostname_mismatch", ...
  std::string detail;       // the verifier's message
  std::string subject;      // of the upstream leaf, RFC 2253
  std::string issuer;
  std::string fingerprint_sha256;  // hex, of the upstream leaf
  std::vector<std::string> chain;  // subjects as presented, leaf first
  std::string action;              // what policy did: "block", ...
};

nlohmann::json to_json(const FlowEvent& e);
nlohmann::json to_json(const TlsEvent& e);

class EventLog {
 public:
  // `path` empty: no file. Creates missing parent directories (0750);
  // the file is opened O_APPEND (0640). `also_stdout` mirrors each line to
  // stdout (forced when there is neither a file nor the journal); `to_journal`
  // also sends each event to journald as fields (journal_fields.h). Throws
  // std::system_error when the file cannot be opened.
  explicit EventLog(const std::filesystem::path& path, bool also_stdout = true,
                    bool to_journal = false);

  void emit(const FlowEvent& e);
  void emit(const TlsEvent& e);
  // Adds "ts" (RFC 3339, UTC, milliseconds) and "type", writes one line.
  void emit(std::string_view type, nlohmann::json fields);

  // Lines that could not be written (disk full, closed stdout): emit() never
  // throws on the data path, so this is how a lost event becomes visible.
  uint64_t failed_writes();
  // Events journald did not take (not running, socket full): the file and
  // stdout still have them.
  uint64_t journal_failures() const { return journal_failures_.load(std::memory_order_relaxed); }

 private:
  std::mutex mu_;
  UniqueFd fd_;
  bool also_stdout_;
  uint64_t failed_writes_ = 0;
  bool to_journal_;
  std::atomic<uint64_t> journal_failures_{0};
};

}  // namespace tlsgate::events
