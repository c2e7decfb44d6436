#include "terminator/connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "common/errno_name.h"
#include "forging/client_facing_context.h"
#include "policy/rule_matcher.h"
#include "terminator/ciphertext_bio.h"
#include "terminator/tls_alert.h"
#include "terminator/tls_session.h"

namespace tlsgate::terminator {

namespace {

// Stop reading a side while the other side has this much unsent.
constexpr size_t kHighWater = 1 << 20;
constexpr size_t kLowWater = 256 << 10;
constexpr size_t kRelayChunk = 16384;

__kernel_timespec to_timespec(std::chrono::nanoseconds d) {
  __kernel_timespec ts{};
  ts.tv_sec = d.count() / 1'000'000'000;
  ts.tv_nsec = d.count() % 1'000'000'000;
  return ts;
}

__kernel_timespec monotonic_after(std::chrono::nanoseconds d) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  auto total = std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec) + d;
  return to_timespec(total);
}

}  // namespace

const char* to_string(Connection::State s) {
  switch (s) {
    case Connection::State::reading_hello:
      return "reading_hello";
    case Connection::State::verifying_bypass:
      return "verifying_bypass";
    case Connection::State::connecting:
      return "connecting";
    case Connection::State::splicing:
      return "splicing";
    case Connection::State::upstream_handshake:
      return "upstream_handshake";
    case Connection::State::checking_revocation:
      return "checking_revocation";
    case Connection::State::serving_page:
      return "serving_page";
    case Connection::State::client_handshake:
      return "client_handshake";
    case Connection::State::relaying:
      return "relaying";
    case Connection::State::draining:
      return "draining";
    case Connection::State::closed:
      return "closed";
  }
  return "?";
}

Connection::Connection(uint32_t slot, uint64_t serial, UniqueFd client_fd, Endpoint client,
                       Endpoint original_dst, const TerminatorContext& ctx,
                       TerminatorCounters& counters, ConnectionIo& io)
    : slot_(slot),
      serial_(serial),
      ctx_(ctx),
      counters_(counters),
      io_(io),
      client_fd_(std::move(client_fd)),
      client_(std::move(client)),
      original_dst_(std::move(original_dst)),
      hello_(ctx.settings.max_client_hello),
      started_(std::chrono::steady_clock::now()),
      last_activity_(started_) {
  TerminatorCounters::add(counters_.accepted);
  TerminatorCounters::add(counters_.active);
  const auto& s = ctx_.settings;
  connect_timeout_ = to_timespec(s.connect_timeout);
  handshake_deadline_ = monotonic_after(s.handshake_timeout);
  for (auto& st : sides_) st.send_timeout = to_timespec(s.handshake_timeout);
}

Connection::~Connection() {
  counters_.active.fetch_sub(1, std::memory_order_relaxed);
}

// ---------------------------------------------------------------- reading_hello

void Connection::start() {
  arm_recv(Side::client);
}

void Connection::on_client_hello_bytes(std::span<const uint8_t> bytes) {
  switch (hello_.feed(bytes)) {
    case ClientHelloReader::Status::need_more:
      arm_recv(Side::client);
      return;
    case ClientHelloReader::Status::complete:
      sni_ = hello_.sni();
      fingerprint_client_hello();
      classify();
      return;
    case ClientHelloReader::Status::not_tls:
      TerminatorCounters::add(counters_.non_tls);
      if (ctx_.settings.non_tls == config::NonTlsMode::pass) {
        verdict_ = {policy::Action::bypass, std::nullopt, "non_tls"};
        flow_action_ = "bypass";
        classified_ = true;
        TerminatorCounters::add(counters_.bypassed);
        connect_upstream();
      } else {
        refuse_with_alert(0, "non_tls");  // not TLS: no alert, just close
      }
      return;
    case ClientHelloReader::Status::malformed:
      TerminatorCounters::add(counters_.bad_client_hello);
      refuse_with_alert(tls_alert::kDecodeError, "malformed_client_hello");
      return;
    case ClientHelloReader::Status::too_large:
      TerminatorCounters::add(counters_.bad_client_hello);
      refuse_with_alert(tls_alert::kDecodeError, "client_hello_too_large");
      return;
  }
}

// The verdict: the one rule evaluation of a steered flow (policy/rule_matcher.cc).
void Connection::classify() {
  policy::FlowFacts facts{client_.address, original_dst_, std::nullopt};
  if (!sni_.empty()) facts.sni = sni_;
  rules_ = ctx_.rules.load();
  const auto& rules = rules_;
  verdict_ = policy::match(*rules, facts);
  classified_ = true;
  flow_action_ = std::string(policy::to_string(verdict_.action));
  if (block_listed_sni()) return;  // connection_threat.cc
  switch (verdict_.action) {
    case policy::Action::block:
      TerminatorCounters::add(counters_.blocked);
      teach_kernel(false);
      if (rules->block_response == policy::RuleSet::BlockResponse::page) {
        show_rule_block_page();  // connection_page.cc
        return;
      }
      refuse_with_alert(tls_alert::kAccessDenied, "rule");
      return;
    case policy::Action::bypass:
      if (bypass_needs_probe(*rules)) {
        verify_bypass();  // connects once the destination is proven (connection_bypass.cc)
        return;
      }
      TerminatorCounters::add(counters_.bypassed);
      teach_kernel(false);
      connect_upstream();
      return;
    case policy::Action::inspect:
      if (take_scoped_bypass()) return;  // connection_rejection.cc
      TerminatorCounters::add(counters_.inspected);
      teach_kernel(false);
      connect_upstream();
      return;
  }
}

// ---------------------------------------------------------------- upstream

void Connection::connect_upstream() {
  state_ = State::connecting;
  int family = original_dst_.address.is_v4() ? AF_INET : AF_INET6;
  upstream_fd_.reset(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!upstream_fd_) {
    refuse_with_alert(tls_alert::kInternalError, "upstream_socket: " + errno_name(errno));
    return;
  }
  int one = 1;
  setsockopt(upstream_fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // io_uring reads the address at submission time: it lives in the connection.
  upstream_addr_len_ = original_dst_.to_sockaddr(upstream_addr_);
  io_.connect(*this, upstream_fd_.get(), upstream_addr_, upstream_addr_len_, connect_timeout_);
  if (verdict_.action != policy::Action::bypass) watch_client_end();
}

// While an inspected flow waits for its upstream (connect, handshake,
// revocation) nothing is read from the client: its FIN or RST would only be
// seen at handshake_timeout. A poll for the end alone (not for data: a client
// may send more of its first flight) frees the flow at once.
void Connection::watch_client_end() {
  if (poll_armed_[static_cast<int>(Side::client)]) return;
  poll_armed_[static_cast<int>(Side::client)] = true;
  poll_timeout_ = to_timespec(ctx_.settings.handshake_timeout);
  io_.poll(*this, Side::client, POLLRDHUP, poll_timeout_);
}

bool Connection::waiting_for_upstream() const {
  return !kernel_splice_ && (state_ == State::connecting || state_ == State::upstream_handshake ||
                             state_ == State::checking_revocation);
}

// A client that can no longer finish its handshake: the upstream's is not waited for.
void Connection::client_left_while_waiting(int poll_result) {
  if (poll_result < 0) return;  // the timeout: handshake_timeout ends the flow
  const auto events = static_cast<unsigned>(poll_result);
  if ((events & (POLLRDHUP | POLLHUP | POLLERR)) == 0) return;
  side(Side::client).eof = true;
  std::string why = "closed";
  if (events & POLLERR) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(client_fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    why = err != 0 ? errno_name(err) : "error";
  }
  close_when_flushed("client_" + why + "_in_" + to_string(state_));
}

void Connection::on_connect(int result) {
  if (state_ != State::connecting) return;
  if (result < 0) {
    TerminatorCounters::add(counters_.upstream_connect_failures);
    std::string why = result == -ECANCELED ? "timeout" : errno_name(-result);
    refuse_with_alert(tls_alert::kInternalError, "upstream_unreachable: " + why);
    return;
  }
  if (verdict_.action == policy::Action::bypass) {
    // Replay the client's first flight as received; from here on, bytes pass as they are.
    state_ = State::splicing;
    for (auto& st : sides_) st.send_timeout = to_timespec(ctx_.settings.idle_timeout);
    if (start_kernel_splice()) return;  // the kernel relays (connection_kernel_splice.cc)
    TerminatorCounters::add(counters_.userspace_splices);
    side(Side::upstream).out.append(hello_.raw());
    hello_.clear();
    kick_send(Side::upstream);
    arm_recv(Side::client);
    arm_recv(Side::upstream);
    return;
  }
  begin_upstream_tls();
}

// ---------------------------------------------------------------- client

void Connection::drive_client_handshake() {
  ERR_clear_error();
  int ret = SSL_do_handshake(client_ssl_.get());
  flush_tls(Side::client);
  if (ret == 1) {
    client_resumed_ = SSL_session_reused(client_ssl_.get()) == 1;
    report_client_handshake(true, ret, false);
    client_handshake_done_ = std::chrono::steady_clock::now();
    note_security_delta();
    if (page_) {  // an invalid upstream: the client gets our page, nothing else
      state_ = State::serving_page;
      serve_page();
      return;
    }
    state_ = State::relaying;
    start_http_layer();  // connection_http.cc
    for (auto& st : sides_) st.send_timeout = to_timespec(ctx_.settings.idle_timeout);
    // Application data may have arrived with the client's Finished.
    relay_tls(Side::client);
    if (state_ == State::relaying) arm_recv(Side::upstream);
    return;
  }
  int err = SSL_get_error(client_ssl_.get(), ret);
  if (err == SSL_ERROR_WANT_READ) {
    arm_recv(Side::client);
    return;
  }
  TerminatorCounters::add(counters_.client_handshake_failures);
  report_client_handshake(false, ret, false);  // reads the error queue: first
  close_when_flushed("client_handshake_failed: " + last_openssl_error());
}

// The client's last handshake flight may get no answer from us (TLS 1.3
// without a ticket to send, a resumed TLS 1.2 handshake): its ACK would wait
// for the delayed-ACK timer (~40 ms), and a client with Nagle's algorithm on
// holds its first request until then. Acknowledge what was read, now, before
// processing it (a pure ACK when our answer would have carried it: cheap).
void Connection::acknowledge_client_now() {
  int one = 1;
  setsockopt(client_fd_.get(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

// ---------------------------------------------------------------- data phases

void Connection::relay_tls(Side from) {
  SSL* in = ssl(from);
  SSL* out = ssl(other(from));
  uint8_t buf[kRelayChunk];
  uint64_t& counted = from == Side::client ? bytes_from_client_ : bytes_from_server_;
  bool ended = false;
  ERR_clear_error();
  while (!http_paused(from)) {
    int n = SSL_read(in, buf, sizeof buf);
    if (n > 0) {
      counted += static_cast<uint64_t>(n);
      if (http_ && !http_->relaying_raw()) {  // the HTTP layer sends what goes on
        pass_to_http(from, std::span<const uint8_t>(buf, static_cast<size_t>(n)));
        if (state_ != State::relaying) return;
        continue;
      }
      if (SSL_write(out, buf, n) != n) {
        close_when_flushed("relay_write_failed: " + last_openssl_error());
        return;
      }
      continue;
    }
    int err = SSL_get_error(in, n);
    if (err == SSL_ERROR_WANT_READ) break;
    if (err == SSL_ERROR_ZERO_RETURN) {  // close_notify: pass the end on
      ended = true;
      break;
    }
    if (from == Side::client) note_client_end_after_handshake(true);  // reads the error queue
    flush_tls(from);
    close_when_flushed(std::string(from == Side::client ? "client" : "upstream") +
                       "_tls_error: " + last_openssl_error());
    return;
  }
  flush_tls(other(from));
  flush_tls(from);                // KeyUpdate replies and alerts
  if (http_paused(from)) return;  // the rest is read when the HTTP layer resumes this side
  if (ended || side(from).eof) {
    end_of_relayed_stream(from);
    return;
  }
  if (side(other(from)).out.pending() < kHighWater) arm_recv(from);
}

// One peer ended its stream (close_notify, or a FIN): a half-close (RFC 8446
// §6.1), the other direction goes on. The HTTP layer decides when the end is
// passed on (an HTTP/1.1 client that ends after its request still gets the
// response); the flow closes once both directions ended.
void Connection::end_of_relayed_stream(Side from) {
  SideState& st = side(from);
  if (st.ended) return;
  st.ended = true;
  if (!side(other(from)).ended) first_to_end_ = from;
  st.eof = true;  // nothing more is read from it
  // Before the HTTP layer hears of the end (it may close the flow at once).
  if (from == Side::client) note_client_end_after_handshake(false);
  if (http_) {
    end_http_stream(from);
  } else {
    pass_end_toward(other(from));
  }
}

// The stream toward `to` ends (TLS close_notify) after what is queued.
void Connection::pass_end_toward(Side to) {
  if (state_ != State::relaying) return;
  SideState& st = side(to);
  if (!st.end_passed) {
    st.end_passed = true;
    SSL_shutdown(ssl(to));
    flush_tls(to);
  }
  if (side(Side::client).end_passed && side(Side::upstream).end_passed) {
    close_when_flushed(first_to_end_ == Side::client ? "client_closed" : "upstream_closed");
  }
}

void Connection::splice_raw(Side from, std::span<const uint8_t> bytes) {
  (from == Side::client ? bytes_from_client_ : bytes_from_server_) += bytes.size();
  side(other(from)).out.append(bytes);
  kick_send(other(from));
  if (side(other(from)).out.pending() < kHighWater) arm_recv(from);
}

// A raw relay passes a FIN on once everything before it was delivered.
void Connection::maybe_half_close(Side from) {
  if (kernel_splice_) {
    kernel_half_close(from);
    return;
  }
  SideState& to = side(other(from));
  if (side(from).eof && !to.shut_wr && to.out.empty()) {
    shutdown(fd(other(from)), SHUT_WR);
    to.shut_wr = true;
  }
  if (side(Side::client).eof && side(Side::upstream).eof && side(Side::client).out.empty() &&
      side(Side::upstream).out.empty()) {
    close_when_flushed("closed");
  }
}

// ---------------------------------------------------------------- completions

void Connection::on_recv(Side s, int result, std::span<const uint8_t> bytes) {
  side(s).recv_armed = false;
  if (state_ == State::draining || state_ == State::closed) return;
  if (result == -ENOBUFS) {  // no provided buffer free right now: try again
    arm_recv(s);
    return;
  }
  if (result == -ECANCELED) {  // the linked timeout fired
    if (state_ == State::relaying || state_ == State::splicing) {
      if (!idle_expired()) {
        arm_recv(s);
        return;
      }
      close_when_flushed("idle_timeout");
      return;
    }
    TerminatorCounters::add(counters_.handshake_timeouts);
    refuse_with_alert(state_ == State::upstream_handshake ? tls_alert::kInternalError : 0,
                      std::string("timeout_in_") + to_string(state_));
    return;
  }
  if (result < 0 || result == 0) {
    side(s).eof = true;
    std::string who = s == Side::client ? "client" : "upstream";
    std::string why = result == 0 ? "closed" : errno_name(-result);
    switch (state_) {
      case State::splicing:
        maybe_half_close(s);
        return;
      case State::relaying:
        relay_tls(s);
        return;
      case State::upstream_handshake:
        fail_upstream_tls(0);
        return;
      default:
        if (state_ == State::client_handshake) report_client_handshake(false, 0, true);
        if (!classified_) flow_action_ = "none";
        close_when_flushed(who + "_" + why + "_in_" + to_string(state_));
        return;
    }
  }
  last_activity_ = std::chrono::steady_clock::now();
  switch (state_) {
    case State::reading_hello:
      on_client_hello_bytes(bytes);
      return;
    case State::splicing:
      splice_raw(s, bytes);
      return;
    // The SSL reads the receive buffer in place; the loan ends with the case
    // (ciphertext_bio.h), before the worker recycles the buffer.
    case State::upstream_handshake: {
      LentCiphertext lent(upstream_ssl_.get(), bytes);
      drive_upstream_handshake();
      return;
    }
    case State::client_handshake: {
      acknowledge_client_now();  // before the work its handshake step costs
      LentCiphertext lent(client_ssl_.get(), bytes);
      drive_client_handshake();
      return;
    }
    case State::serving_page: {
      LentCiphertext lent(client_ssl_.get(), bytes);
      serve_page();
      return;
    }
    case State::relaying: {
      LentCiphertext lent(ssl(s), bytes);
      relay_tls(s);
      return;
    }
    default:
      return;
  }
}

void Connection::on_send(Side s, int result) {
  SideState& st = side(s);
  if (state_ == State::closed) {
    st.out.complete_send(0);
    return;
  }
  if (result <= 0) {
    st.out.complete_send(0);
    std::string why = result == -ECANCELED ? "send_timeout" : errno_name(-result);
    end_reason_ = end_reason_.empty() ? why : end_reason_;
    teardown();
    return;
  }
  st.out.complete_send(static_cast<size_t>(result));
  last_activity_ = std::chrono::steady_clock::now();
  kick_send(s);
  if (state_ == State::draining) {
    if (side(Side::client).out.empty() && side(Side::upstream).out.empty()) teardown();
    return;
  }
  if (st.out.empty()) st.out.release_memory();
  // Resume the reader that was paused for this side's backlog.
  Side source = other(s);
  if (st.out.pending() < kLowWater && !side(source).eof &&
      (state_ == State::relaying || state_ == State::splicing) && !http_paused(source)) {
    arm_recv(source);
  }
  if (st.out.pending() < kLowWater && state_ == State::relaying) http_drained(s);
  if (state_ == State::splicing) maybe_half_close(source);
}

void Connection::abort(const char* reason) {
  if (state_ == State::closed) return;
  end_reason_ = reason;
  teardown();
}

bool Connection::idle_expired() const {
  return std::chrono::steady_clock::now() - last_activity_ >= ctx_.settings.idle_timeout;
}

// ---------------------------------------------------------------- plumbing

void Connection::arm_recv(Side s) {
  SideState& st = side(s);
  if (st.recv_armed || st.eof || fd(s) < 0) return;
  if (state_ == State::draining || state_ == State::closed) return;
  if (kernel_splice_) return;  // the kernel reads this flow's sockets
  st.recv_armed = true;
  // The SSL has read all it could: until more comes, it needs no record
  // buffers (RELEASE_BUFFERS misses some paths, e.g. post-handshake
  // messages); kept when a partial record waits in them.
  if (SSL* tls = ssl(s)) SSL_free_buffers(tls);
  bool in_handshake = state_ != State::relaying && state_ != State::splicing;
  if (in_handshake) {
    io_.recv(*this, s, handshake_deadline_, true);
  } else {
    st.recv_timeout = to_timespec(ctx_.settings.idle_timeout);
    io_.recv(*this, s, st.recv_timeout, false);
  }
}

void Connection::kick_send(Side s) {
  SideState& st = side(s);
  if (fd(s) < 0) return;
  auto bytes = st.out.start_send();
  if (bytes.empty()) return;
  io_.send(*this, s, bytes, st.send_timeout);
}

// The SSL's write BIO appends to the side's queue (ciphertext_bio.h):
// flushing is sending what is queued.
void Connection::flush_tls(Side s) {
  kick_send(s);
}

// Refuses the flow: a TLS alert to the client (alert 0: none, just close).
// Whatever the verdict was, the flow ended refused: the event says "block"
// (the rule and the reason say why).
void Connection::refuse_with_alert(uint8_t alert, std::string reason) {
  flow_action_ = "block";
  if (alert != 0 && !client_ssl_) {
    side(Side::client).out.append(tls_alert::fatal(alert));
    kick_send(Side::client);
  }
  close_when_flushed(std::move(reason));
}

void Connection::close_when_flushed(std::string reason) {
  if (state_ == State::draining || state_ == State::closed) return;
  if (end_reason_.empty()) end_reason_ = std::move(reason);
  state_ = State::draining;
  for (Side s : {Side::client, Side::upstream}) {
    if (side(s).recv_armed) io_.cancel_recv(*this, s);
  }
  if (side(Side::client).out.empty() && side(Side::upstream).out.empty()) teardown();
}

void Connection::teardown() {
  if (state_ == State::closed) return;
  state_ = State::closed;
  fold_kernel_splice_bytes();
  finish_http();
  emit_flow_event();
  if (pending_ops > 0) {
    for (Side s : {Side::client, Side::upstream}) {
      if (fd(s) >= 0) io_.cancel_all(*this, fd(s));
    }
  }
  // The fds close when the worker frees the connection; FIN the client now.
  if (client_fd_) shutdown(client_fd_.get(), SHUT_WR);
}

FlowSnapshot Connection::snapshot(unsigned worker) const {
  FlowSnapshot s;
  s.worker = worker;
  s.client = client_;
  s.server = original_dst_;
  s.state = to_string(state_);
  s.age = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                started_);
  s.sni = sni_;
  s.action = flow_action_;
  s.rule = classified_ ? verdict_.rule_name : "";
  s.bytes_from_client = bytes_from_client_;
  s.bytes_from_server = bytes_from_server_;
  return s;
}

void Connection::emit_flow_event() {
  events::FlowEvent ev;
  ev.client = client_.to_string();
  ev.server = original_dst_.to_string();
  if (!sni_.empty()) ev.sni = sni_;
  ev.action = flow_action_.empty() ? "none" : flow_action_;
  ev.rule = classified_ ? verdict_.rule_name : "none";
  ev.reason = end_reason_.empty() ? "closed" : end_reason_;
  if (!validation_note_.empty()) ev.reason = validation_note_ + "," + ev.reason;
  ev.bytes_from_client = bytes_from_client_;
  ev.bytes_from_server = bytes_from_server_;
  ev.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started_);
  if (!upstream_alpn_.empty()) ev.alpn = upstream_alpn_;
  if (!tls_version_.empty()) ev.tls_version = tls_version_;
  if (!upstream_cert_sha256_.empty()) ev.upstream_cert_sha256 = upstream_cert_sha256_;
  if (!ja4_.empty()) ev.ja4 = ja4_;
  ev.client_resumed = client_resumed_;
  ev.security_delta = std::move(security_delta_);
  if (!scoped_bypass_.empty()) ev.rule = "auto_bypass:" + scoped_bypass_;
  if (!retest_.empty()) ev.reason = "auto_bypass_retest:" + retest_ + "," + ev.reason;
  report_retest_outcome();
  ctx_.events->emit(ev);
}

}  // namespace tlsgate::terminator
