// One intercepted flow, as the state machine of DESIGN.md §3:
//
//   reading_hello ──► classified ──► block ─────────────────────────► draining
//                         │                                               ▲
//                         ├─► bypass: connecting ─► splicing ─────────────┤
//                         └─► inspect: connecting ─► upstream_handshake   │
//                                 ─► client_handshake ─► relaying ────────┘
//   draining ─► closed (the worker frees it once no operation is in flight)
//
// The upstream is validated before the client gets any answer: the client
// never sees a certificate we did not check. Every wait has a timeout.
// A bypass granted by name first waits in verifying_bypass for the probe
// that proves the destination serves that name (bypass_probe.h); a failed
// probe makes the flow inspected. A spliced flow is relayed by the kernel
// (sockmap) when it can be, by this connection's own copy otherwise.
#pragma once

#include <linux/time_types.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ca/ca_registry.h"
#include "common/ip_address.h"
#include "common/unique_fd.h"
#include "fingerprint/security_delta.h"
#include "http/http_layer.h"
#include "pages/page_responder.h"
#include "policy/rule.h"
#include "terminator/bypass_probe.h"
#include "terminator/client_hello_reader.h"
#include "terminator/client_rejection.h"
#include "terminator/connection_http_port.h"
#include "terminator/flow_snapshot.h"
#include "terminator/kernel_splice_watch.h"
#include "terminator/outbound_queue.h"
#include "terminator/terminator_context.h"
#include "terminator/worker_mailbox.h"
#include "tls/openssl_handles.h"
#include "validation/revocation_checker.h"
#include "validation/upstream_verifier.h"

namespace tlsgate::terminator {

enum class Side : uint8_t { client = 0, upstream = 1 };

class Connection;

// The operations a connection asks of its worker's io_uring.
class ConnectionIo {
 public:
  virtual ~ConnectionIo() = default;
  // Receives into a provided buffer; completion calls Connection::on_recv.
  virtual void recv(Connection& c, Side side, const __kernel_timespec& timeout, bool absolute) = 0;
  virtual void send(Connection& c, Side side, std::span<const uint8_t> bytes,
                    const __kernel_timespec& timeout) = 0;
  // `to` and `timeout` must stay valid until the next submission.
  virtual void connect(Connection& c, int fd, const sockaddr_storage& to, socklen_t len,
                       const __kernel_timespec& timeout) = 0;
  // Cancels the receive in flight on `side` (the send, if any, completes).
  virtual void cancel_recv(Connection& c, Side side) = 0;
  // Cancels every operation in flight on `fd`.
  virtual void cancel_all(Connection& c, int fd) = 0;
  // A handle through which other threads can run code on this connection
  // (on its worker thread) — for work done off the data path.
  virtual ConnectionWaker waker(Connection& c) = 0;
  // Waits for `events` (poll(2) bits) on `side`'s socket, up to `timeout`;
  // completion calls Connection::on_poll (-ECANCELED: the timeout).
  virtual void poll(Connection& c, Side side, unsigned events,
                    const __kernel_timespec& timeout) = 0;
  // Completion calls Connection::on_timer after `after` (kept valid by the caller).
  virtual void timer(Connection& c, const __kernel_timespec& after) = 0;
};

class Connection {
 public:
  enum class State {
    reading_hello,
    verifying_bypass,
    connecting,
    splicing,
    upstream_handshake,
    checking_revocation,
    client_handshake,
    serving_page,
    relaying,
    draining,
    closed,
  };

  Connection(uint32_t slot, uint64_t serial, UniqueFd client_fd, Endpoint client,
             Endpoint original_dst, const TerminatorContext& ctx, TerminatorCounters& counters,
             ConnectionIo& io);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  void on_recv(Side side, int result, std::span<const uint8_t> bytes);
  void on_send(Side side, int result);
  void on_connect(int result);
  void on_poll(Side side, int result);
  void on_timer(int result);
  // The probe of a bypass by name came back (delivered through the mailbox).
  void on_probe_result(const ProbeResult& result);
  // The revocation status of the upstream chain (delivered through the mailbox).
  void on_revocation_result(const tls::RevocationResult& result);
  // The worker is stopping: end the flow now.
  void abort(const char* reason);

  // What `tlsgatectl flows` shows of this flow.
  FlowSnapshot snapshot(unsigned worker) const;
  uint32_t slot() const { return slot_; }
  uint64_t serial() const { return serial_; }
  State state() const { return state_; }
  int fd(Side side) const { return side == Side::client ? client_fd_.get() : upstream_fd_.get(); }
  // Maintained by the worker: operations submitted and not yet completed.
  unsigned pending_ops = 0;
  bool can_free() const { return state_ == State::closed && pending_ops == 0; }

 private:
  struct SideState {
    OutboundQueue out;
    bool recv_armed = false;
    bool eof = false;         // the peer will send nothing more
    bool shut_wr = false;     // we sent FIN (raw relay) after flushing
    bool ended = false;       // relaying: this peer's stream ended (close_notify or FIN)
    bool end_passed = false;  // relaying: the stream toward this peer was ended (close_notify)
    __kernel_timespec recv_timeout{};
    __kernel_timespec send_timeout{};
  };

  // reading_hello
  void on_client_hello_bytes(std::span<const uint8_t> bytes);
  void classify();
  // bypass by name (connection_bypass.cc)
  bool bypass_needs_probe(const policy::RuleSet& rules) const;
  void verify_bypass();
  void teach_kernel(bool bypass_verified);
  // the threat-list check of the SNI (connection_threat.cc)
  bool block_listed_sni();
  // upstream
  void connect_upstream();
  void watch_client_end();
  bool waiting_for_upstream() const;
  void client_left_while_waiting(int poll_result);
  // upstream validation and the untrusted-certificate policy (connection_validation.cc)
  void begin_upstream_tls();
  // Whether this flow's rule captures its TLS secrets (one check per leg).
  bool captures_keys() const;
  void drive_upstream_handshake();
  void fail_upstream_tls(int ssl_ret);
  void upstream_verified();
  void apply_untrusted_policy(const tls::VerifyFailure& failure, bool session_usable);
  policy::UntrustedCertAction decide_untrusted(const tls::VerifyFailure& failure,
                                               std::string_view leaf_sha256) const;
  const policy::UntrustedCertPolicy& untrusted_policy() const;
  std::string requested_host() const;
  std::shared_ptr<const tls::ForgedCert> forge_mirroring_upstream();
  void relay_with_identity(std::shared_ptr<const tls::ForgedCert> identity);
  void emit_tls_event(const tls::VerifyFailure& failure, const tls::PeerCertSummary& peer,
                      std::string_view action);
  // client
  // `resumable`: the client may resume this session later (connection_resumption.cc).
  void start_client_handshake(const tls::ForgedCert& identity, const std::string* alpn,
                              bool resumable);
  void offer_resumption(const tls::ForgedCert& identity);
  void drive_client_handshake();
  void acknowledge_client_now();
  // the CA that signs this flow's identity, and the client's verdict on it
  // (connection_signer.cc)
  const tls::LeafForger& trusted_forger();
  void report_client_handshake(bool completed, int ssl_ret, bool eof);
  // JA4, client rejects, scoped automatic bypasses and the security delta
  // (connection_rejection.cc)
  void fingerprint_client_hello();
  bool take_scoped_bypass();
  void client_rejected(const ClientRejection& rejection, bool after_handshake);
  void note_client_end_after_handshake(bool ssl_error);
  void note_security_delta();
  void report_retest_outcome();
  // block and warning pages (connection_page.cc)
  void show_untrusted_page(bool prompt, const tls::VerifyFailure& failure,
                           tls::PeerCertSummary peer);
  void show_rule_block_page();
  void show_block_page(pages::PageHandler handler, const std::string& reason);
  void serve_page();
  // data phases
  void relay_tls(Side from);
  void splice_raw(Side from, std::span<const uint8_t> bytes);
  void maybe_half_close(Side from);
  void end_of_relayed_stream(Side from);
  void pass_end_toward(Side to);
  // kernel splice, sockmap (connection_kernel_splice.cc)
  bool start_kernel_splice();
  void arm_splice_poll(Side side);
  void kernel_half_close(Side from);
  void fold_kernel_splice_bytes();
  // plumbing
  void arm_recv(Side side);
  void kick_send(Side side);
  void flush_tls(Side side);
  void refuse_with_alert(uint8_t alert, std::string reason);
  void close_when_flushed(std::string reason);
  void teardown();
  void emit_flow_event();
  bool idle_expired() const;
  // the HTTP layer of an inspected flow (connection_http.cc)
  friend class ConnectionHttpPort;
  void start_http_layer();
  void pass_to_http(Side from, std::span<const uint8_t> plaintext);
  void end_http_stream(Side from);
  void http_drained(Side to);
  bool http_paused(Side from) const;
  void resume_http_reading(Side from);
  void finish_http();

  SideState& side(Side s) { return sides_[static_cast<int>(s)]; }
  SSL* ssl(Side s) const { return s == Side::client ? client_ssl_.get() : upstream_ssl_.get(); }
  static Side other(Side s) { return s == Side::client ? Side::upstream : Side::client; }

  const uint32_t slot_;
  const uint64_t serial_;
  const TerminatorContext& ctx_;
  TerminatorCounters& counters_;
  ConnectionIo& io_;
  State state_ = State::reading_hello;

  UniqueFd client_fd_;
  UniqueFd upstream_fd_;
  Endpoint client_;
  Endpoint original_dst_;
  SideState sides_[2];
  Side first_to_end_ = Side::client;  // relaying: whose stream ended first

  ClientHelloReader hello_;
  std::string sni_;
  policy::Verdict verdict_;
  std::shared_ptr<const policy::RuleSet> rules_;  // the rules the verdict came from
  bool classified_ = false;

  tls::SslPtr upstream_ssl_;  // we are the client; memory BIOs
  tls::SslPtr client_ssl_;    // we are the server; memory BIOs
  std::optional<tls::VerifyFailure> verify_failure_;
  tls::FailureTolerance tolerance_;                       // alive as long as upstream_ssl_
  std::optional<policy::UntrustedCertAction> tolerated_;  // strictest defect relayed anyway
  std::string validation_note_;  // e.g. "upstream_cert_allowed:expired", for the flow event
  tls::SignerChoice signer_;     // set by trusted_forger(); empty for the untrusted CA
  std::unique_ptr<pages::PageResponder> page_;
  std::string page_alpn_;
  std::string upstream_alpn_;
  std::string upstream_cert_sha256_;
  std::string tls_version_;
  std::string ja4_;
  std::optional<fingerprint::ClientOffer> offer_;  // until the client handshake ends
  std::vector<events::SecurityDeltaItem> security_delta_;
  std::string scoped_bypass_;  // the automatic bypass that bypassed this flow
  std::string retest_;         // the automatic bypass this inspected flow re-tests
  bool client_rejected_ = false;
  std::optional<std::chrono::steady_clock::time_point> client_handshake_done_;
  std::string resumption_binding_;      // what a ticket of this session is bound to
  std::optional<bool> client_resumed_;  // once the client handshake completed
  // While relaying an inspected flow: the HTTP layer and its view of this
  // connection (the port outlives the layer).
  std::unique_ptr<ConnectionHttpPort> http_port_;
  std::unique_ptr<http::HttpLayer> http_;

  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_activity_;
  uint64_t bytes_from_client_ = 0;
  uint64_t bytes_from_server_ = 0;
  std::string end_reason_;
  std::string flow_action_;  // what happened to the flow: the verdict, or "block" when refused
  sockaddr_storage upstream_addr_{};
  socklen_t upstream_addr_len_ = 0;
  __kernel_timespec connect_timeout_{};
  __kernel_timespec handshake_deadline_{};  // CLOCK_MONOTONIC, absolute

  // Kernel splice: set while the kernel relays this flow's bytes.
  std::unique_ptr<KernelSpliceWatch> kernel_splice_;
  bool poll_armed_[2] = {false, false};
  bool timer_armed_ = false;
  __kernel_timespec poll_timeout_{};
  __kernel_timespec drain_check_{};
  uint64_t splice_progress_ = 0;  // bytes relayed at the last idle check
};

const char* to_string(Connection::State s);

}  // namespace tlsgate::terminator
