// The HTTP layer of an inspected flow (DESIGN.md §4a): the connection hands
// it each side's decrypted bytes and it sends on what may go, answers what it
// refuses, and reports every exchange as an `http` event. A flow that is not
// HTTP (or left it through an upgrade) is relayed as it is.
#include <openssl/ssl.h>

#include <exception>
#include <utility>

#include <nlohmann/json.hpp>

#include "http/http_event.h"
#include "terminator/certificate_names.h"
#include "terminator/connection.h"
#include "terminator/tls_session.h"

namespace tlsgate::terminator {

namespace {

Side side_of(http::Peer p) {
  return p == http::Peer::client ? Side::client : Side::upstream;
}
http::Peer peer_of(Side s) {
  return s == Side::client ? http::Peer::client : http::Peer::upstream;
}

// The connection is inside the layer for the guard's life.
class InsideLayer {
 public:
  explicit InsideLayer(ConnectionHttpPort& port) : port_(port) { port_.enter(); }
  ~InsideLayer() { port_.leave(); }
  InsideLayer(const InsideLayer&) = delete;
  InsideLayer& operator=(const InsideLayer&) = delete;

 private:
  ConnectionHttpPort& port_;
};

}  // namespace

// ---------------------------------------------------------------- the port

ConnectionHttpPort::ConnectionHttpPort(Connection& connection, http::FlowContext flow)
    : c_(connection), flow_(std::move(flow)) {}

void ConnectionHttpPort::send(http::Peer to, std::span<const uint8_t> bytes) {
  if (bytes.empty() || c_.state_ != Connection::State::relaying) return;
  Side s = side_of(to);
  const int n = static_cast<int>(bytes.size());
  if (SSL_write(c_.ssl(s), bytes.data(), n) != n) {
    c_.close_when_flushed("relay_write_failed: " + last_openssl_error());
    return;
  }
  if (depth_ == 0) c_.flush_tls(s);  // inside the layer, the connection flushes after
}

size_t ConnectionHttpPort::pending(http::Peer to) const {
  return c_.side(side_of(to)).out.pending();
}

void ConnectionHttpPort::end_stream(http::Peer to) {
  c_.pass_end_toward(side_of(to));
}

void ConnectionHttpPort::close_after_flush(std::string reason) {
  if (c_.state_ != Connection::State::relaying) return;
  for (Side s : {Side::client, Side::upstream}) {
    SSL_shutdown(c_.ssl(s));
    c_.flush_tls(s);
  }
  c_.close_when_flushed(std::move(reason));
}

void ConnectionHttpPort::refuse_flow(std::string reason) {
  c_.flow_action_ = "block";
  TerminatorCounters::add(c_.counters_.non_http_refused);
  close_after_flush(std::move(reason));
}

void ConnectionHttpPort::pause_reading(http::Peer from) {
  paused_[static_cast<int>(from)] = true;
}

void ConnectionHttpPort::resume_reading(http::Peer from) {
  const int i = static_cast<int>(from);
  if (!paused_[i]) return;
  paused_[i] = false;
  if (depth_ > 0) {
    resume_due_[i] = true;  // when the connection is out of the layer
    return;
  }
  c_.resume_http_reading(side_of(from));
}

void ConnectionHttpPort::leave() {
  if (--depth_ > 0) return;
  // What the layer sent while inside goes out now, whatever called it: a
  // drained side (on_drained) or an ended stream has no later flush of its
  // own, and with nothing in flight nothing else would send it.
  if (c_.state_ == Connection::State::relaying || c_.state_ == Connection::State::draining) {
    for (Side s : {Side::client, Side::upstream}) c_.flush_tls(s);
  }
  for (http::Peer p : {http::Peer::client, http::Peer::upstream}) {
    const int i = static_cast<int>(p);
    if (!resume_due_[i]) continue;
    resume_due_[i] = false;
    if (!paused_[i]) c_.resume_http_reading(side_of(p));
  }
}

void ConnectionHttpPort::emit_exchange(const http::Exchange& exchange) {
  if (c_.ctx_.events == nullptr) return;
  http::HttpEvent ev;
  ev.client = c_.client_.to_string();
  ev.server = c_.original_dst_.to_string();
  if (!c_.sni_.empty()) ev.sni = c_.sni_;
  ev.protocol = flow_.protocol;
  ev.exchange = exchange;
  TerminatorCounters::add(c_.counters_.http_events);
  c_.ctx_.events->emit("http", http::to_json(ev));
}

void ConnectionHttpPort::count_bad_request() {
  TerminatorCounters::add(c_.counters_.http_bad_requests);
}

void ConnectionHttpPort::count_unparsed() {
  TerminatorCounters::add(c_.counters_.http_unparsed);
}

// ---------------------------------------------------------------- the connection's side

void Connection::start_http_layer() {
  http::FlowContext flow;
  flow.client = client_;
  flow.server = original_dst_;
  flow.sni = sni_;
  // Without SNI, requests must name the upstream's certificate.
  if (sni_.empty()) {
    if (X509* leaf = SSL_get0_peer_certificate(upstream_ssl_.get())) {
      flow.upstream_names = certificate_names(leaf);
    }
  }
  flow.rule = classified_ ? verdict_.rule_name : "default";
  flow.rule_index = verdict_.rule_index;
  http_port_ = std::make_unique<ConnectionHttpPort>(*this, std::move(flow));
  const auto mode = ctx_.settings.non_http == config::NonHttpMode::block ? http::NonHttpMode::block
                                                                         : http::NonHttpMode::relay;
  http::FilterChain chain;
  if (ctx_.request_filters) chain = ctx_.request_filters->make_chain(http_port_->flow());
  InsideLayer inside(*http_port_);
  http_ = std::make_unique<http::HttpLayer>(*http_port_, upstream_alpn_, std::move(chain), mode);
}

void Connection::pass_to_http(Side from, std::span<const uint8_t> plaintext) {
  InsideLayer inside(*http_port_);
  try {
    http_->on_bytes(peer_of(from), plaintext);
  } catch (const std::exception& e) {  // an allocation: the flow cannot go on consistently
    TerminatorCounters::add(counters_.http_unparsed);
    close_when_flushed(std::string("http_layer_error: ") + e.what());
  }
}

void Connection::end_http_stream(Side from) {
  if (!http_) return;
  InsideLayer inside(*http_port_);
  try {
    http_->on_end_of_stream(peer_of(from));
  } catch (const std::exception& e) {
    TerminatorCounters::add(counters_.http_unparsed);
    close_when_flushed(std::string("http_layer_error: ") + e.what());
  }
}

void Connection::http_drained(Side to) {
  if (!http_) return;
  InsideLayer inside(*http_port_);
  try {
    http_->on_drained(peer_of(to));
  } catch (const std::exception& e) {
    TerminatorCounters::add(counters_.http_unparsed);
    close_when_flushed(std::string("http_layer_error: ") + e.what());
  }
}

bool Connection::http_paused(Side from) const {
  return http_port_ && http_port_->paused(peer_of(from));
}

// A side the layer paused may go on: what the TLS session kept is read now.
void Connection::resume_http_reading(Side from) {
  if (state_ != State::relaying) return;
  relay_tls(from);
}

// The flow ends: exchanges still open are reported, before the flow's own event.
void Connection::finish_http() {
  if (!http_) return;
  {
    InsideLayer inside(*http_port_);
    try {
      http_->on_flow_end();
    } catch (const std::exception&) {
      TerminatorCounters::add(counters_.http_unparsed);
    }
  }
  http_.reset();
}

}  // namespace tlsgate::terminator
