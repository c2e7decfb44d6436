// Connection, the part that tells administrators what breaks under
// inspection (DESIGN.md §7):
//   - the client's JA4 fingerprint, from the ClientHello as received;
//   - client_reject events: a client that refused our certificate — an alert
//     or a close during the handshake (client_rejection.h), or, for clients
//     that check only once the handshake is complete (curl --pinnedpubkey,
//     pinning apps), a close or an alert right after it, before any
//     application data. Each counts toward a bypass suggestion;
//   - scoped automatic bypasses (suggest/scoped_bypass_table.h): a flow of a
//     device group and SNI with one is bypassed — still only once the probe
//     proved the destination serves that name — or inspected as a re-test;
//   - the security delta: what the client leg lost against the client's
//     offer and the server's upstream choice (fingerprint/security_delta.h).
#include <openssl/ssl.h>

#include "fingerprint/ja4.h"
#include "terminator/connection.h"

namespace tlsgate::terminator {

namespace {

// A close this soon after the handshake, with no request, is a rejection:
// pinning clients close within milliseconds, while an idle preconnected
// socket (browsers) stays open far longer before it is dropped.
constexpr std::chrono::seconds kRejectAfterHandshake{2};

bool relayed_alpn(const std::string& protocol) {
  return protocol == "h2" || protocol == "http/1.1";
}

fingerprint::NegotiatedLeg negotiated(SSL* ssl) {
  fingerprint::NegotiatedLeg leg;
  leg.version = static_cast<uint16_t>(SSL_version(ssl));
  leg.group = fingerprint::group_from_nid(static_cast<int>(SSL_get_negotiated_group(ssl)));
  const unsigned char* alpn = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &len);
  leg.alpn.assign(reinterpret_cast<const char*>(alpn), len);
  const unsigned char* ocsp = nullptr;
  leg.ocsp_stapled = SSL_get_tlsext_status_ocsp_resp(ssl, &ocsp) > 0;
  return leg;
}

}  // namespace

void Connection::fingerprint_client_hello() {
  auto fields = fingerprint::parse_client_hello_fields(hello_.message());
  if (!fields) return;  // the kernel's parser took it, a stricter reading did not
  ja4_ = fingerprint::ja4(*fields);
  offer_ = fingerprint::ClientOffer::from(*fields);
}

// An automatic bypass of this device group and name. True: the flow is
// being bypassed (after the probe); false: it is inspected, perhaps as a re-test.
bool Connection::take_scoped_bypass() {
  if (ctx_.advisor == nullptr || sni_.empty()) return false;
  const suggest::ScopedMatch match =
      ctx_.advisor->scoped(client_.address, sni_, suggest::Clock::now());
  switch (match.decision) {
    case suggest::ScopedDecision::none:
      return false;
    case suggest::ScopedDecision::retest:
      retest_ = match.id;
      TerminatorCounters::add(counters_.auto_bypass_retests);
      return false;
    case suggest::ScopedDecision::bypass:
      break;
  }
  scoped_bypass_ = match.id;
  TerminatorCounters::add(counters_.auto_bypassed);
  verdict_ = {policy::Action::bypass, std::nullopt, "auto_bypass:" + match.id};
  flow_action_ = "bypass";
  verify_bypass();  // a name the client claims: proven first (connection_bypass.cc)
  return true;
}

void Connection::client_rejected(const ClientRejection& rejection, bool after_handshake) {
  if (client_rejected_) return;
  // The untrusted CA is meant to be refused: the client's own warning is the point.
  if (validation_note_.starts_with("upstream_cert_untrusted_ca")) return;
  client_rejected_ = true;
  TerminatorCounters::add(counters_.client_rejects);
  events::ClientRejectEvent ev;
  ev.device = client_.address.to_string();
  ev.client = client_.to_string();
  ev.server = original_dst_.to_string();
  if (!sni_.empty()) ev.sni = sni_;
  ev.ja4 = ja4_;
  std::string reason = rejection.to_string();
  ev.alert = reason.starts_with("alert:") ? reason.substr(6) : reason;
  if (rejection.kind == ClientRejection::Kind::alert) ev.alert_code = rejection.alert;
  ev.phase = after_handshake ? "after_handshake" : "handshake";
  ev.rule = classified_ ? verdict_.rule_name : "none";
  if (!retest_.empty()) ev.retest = retest_;
  if (ctx_.advisor != nullptr) {
    suggest::RejectNote note = ctx_.advisor->client_rejected(
        client_.address, original_dst_, sni_, ja4_, reason, retest_, suggest::Clock::now());
    ev.candidate = note.candidate;
    ev.in_window = note.in_window;
    ev.suggested = note.suggested;
    ev.auto_bypass = note.bypassed;
  }
  ctx_.events->emit(ev);
}

// The client ended a completed handshake: without having sent anything, and
// at once, that is a rejection of our certificate.
void Connection::note_client_end_after_handshake(bool ssl_error) {
  if (!client_handshake_done_ || bytes_from_client_ > 0 || page_) return;
  if (std::chrono::steady_clock::now() - *client_handshake_done_ > kRejectAfterHandshake) return;
  client_rejected(classify_client_close_after_handshake(ssl_error), /*after_handshake=*/true);
}

void Connection::note_security_delta() {
  if (!offer_ || !upstream_ssl_ || !client_ssl_) return;
  for (auto& d : fingerprint::security_delta(*offer_, negotiated(upstream_ssl_.get()),
                                             negotiated(client_ssl_.get()), relayed_alpn)) {
    security_delta_.push_back(
        {std::move(d.property), std::move(d.without_inspection), std::move(d.with_inspection)});
  }
  offer_.reset();
}

// A re-test flow that completed and carried a request: the client takes our
// certificate now, and the automatic bypass ends.
void Connection::report_retest_outcome() {
  if (retest_.empty() || client_rejected_ || !client_handshake_done_ || bytes_from_client_ == 0 ||
      ctx_.advisor == nullptr) {
    return;
  }
  ctx_.advisor->retest_passed(retest_, client_.address, suggest::Clock::now());
}

}  // namespace tlsgate::terminator
