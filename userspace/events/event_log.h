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

// One property inspection weakened (DESIGN.md §7, security delta), e.g.
// key_exchange: "X25519MLKEM768 (offered by the client)" -> "x25519".
struct SecurityDeltaItem {
  std::string property;            // "tls_version", "key_exchange", "alpn", "ocsp_stapling"
  std::string without_inspection;  // what client and server would have had
  std::string with_inspection;     // what the client got
};

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
  std::optional<std::string> ja4;                   // of the client's ClientHello
  // Inspected flows whose client handshake completed: did the client resume
  // a session (ticket) instead of a full handshake?
  std::optional<bool> client_resumed;
  // Inspected flows: what inspection weakened; empty when nothing was.
  std::vector<SecurityDeltaItem> security_delta;
  // "kernel" when the TC program decided the flow alone (bypass on the SYN,
  // SNI check, fail_mode, QUIC refused): the terminator never saw it, so
  // bytes and duration are 0. Unset: decided by the terminator.
  std::optional<std::string> decided_by;
};

// Emitted when a client aborts our handshake, or ends it before sending
// anything (DESIGN.md §7): pinning, or a device without our CA.
struct ClientRejectEvent {
  std::string device;  // the client's address
  std::string client;  // address:port
  std::string server;
  std::optional<std::string> sni;
  std::string ja4;
  std::string alert;  // "unknown_ca", "bad_certificate", ..., "closed_after_certificate"
  std::optional<int> alert_code;           // the TLS alert number, when one was received
  std::string phase;                       // "handshake" | "after_handshake"
  std::string rule;                        // the rule that inspected the flow
  std::string candidate;                   // the bypass candidate it counts toward
  uint64_t in_window = 0;                  // that candidate's rejects within the window
  bool suggested = false;                  // the candidate is a bypass suggestion
  std::optional<std::string> retest;       // the scoped bypass this flow re-tested
  std::optional<std::string> auto_bypass;  // the scoped bypass created or renewed by it
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
nlohmann::json to_json(const ClientRejectEvent& e);

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
  void emit(const ClientRejectEvent& e);
  // Adds "ts" (RFC 3339, UTC, milliseconds) and "type", writes one line.
  void emit(std::string_view type, nlohmann::json fields);

  // Opens the file again by its path (after logrotate moved it; tlsgated
  // calls this on SIGHUP / reload). On failure the old descriptor stays and
  // the error is returned; "" when reopened or there is no file.
  std::string reopen();

  // Lines that could not be written (disk full, closed stdout): emit() never
  // throws on the data path, so this is how a lost event becomes visible.
  uint64_t failed_writes();
  // Events journald did not take (not running, socket full): the file and
  // stdout still have them.
  uint64_t journal_failures() const { return journal_failures_.load(std::memory_order_relaxed); }

 private:
  std::mutex mu_;
  std::filesystem::path path_;
  UniqueFd fd_;
  bool also_stdout_;
  uint64_t failed_writes_ = 0;
  bool to_journal_;
  std::atomic<uint64_t> journal_failures_{0};
};

}  // namespace tlsgate::events
