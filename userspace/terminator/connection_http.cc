// `http` events (DESIGN.md §7): the relayed plaintext of an inspected flow,
// read by a passive observer (http/exchange.h). It never changes, holds or
// delays a byte; when it cannot follow the flow it stops, and the relay goes
// on as before.
#include <exception>
#include <utility>

#include <nlohmann/json.hpp>

#include "http/http_event.h"
#include "terminator/connection.h"

namespace tlsgate::terminator {

namespace {

http::Direction direction_from(Side from) {
  return from == Side::client ? http::Direction::to_server : http::Direction::to_client;
}

}  // namespace

void Connection::start_http_observer() {
  if (ctx_.events == nullptr) return;
  auto emit = [this](const http::Exchange& exchange) {
    http::HttpEvent ev;
    ev.client = client_.to_string();
    ev.server = original_dst_.to_string();
    if (!sni_.empty()) ev.sni = sni_;
    ev.protocol = http_->protocol();
    ev.exchange = exchange;
    TerminatorCounters::add(counters_.http_events);
    ctx_.events->emit("http", http::to_json(ev));
  };
  try {
    http_ = http::make_observer(upstream_alpn_, std::move(emit));
  } catch (const std::exception&) {
    TerminatorCounters::add(counters_.http_unparsed);  // relayed all the same, unobserved
  }
}

void Connection::observe_http(Side from, std::span<const uint8_t> plaintext) {
  if (!http_) return;
  // Observing is best effort: nothing it throws (an allocation) reaches the relay.
  try {
    http_->observe(direction_from(from), plaintext);
  } catch (const std::exception&) {
    TerminatorCounters::add(counters_.http_unparsed);
    http_.reset();
    return;
  }
  switch (http_->stop()) {
    case http::ObserverStop::observing:
      return;
    case http::ObserverStop::malformed:
    case http::ObserverStop::over_limit:
      TerminatorCounters::add(counters_.http_unparsed);
      break;
    case http::ObserverStop::switched:
    case http::ObserverStop::not_http:
      break;
  }
  http_.reset();
}

void Connection::end_http_stream(Side from) {
  if (!http_) return;
  try {
    http_->end_of_stream(direction_from(from));
  } catch (const std::exception&) {
    TerminatorCounters::add(counters_.http_unparsed);
    http_.reset();
  }
}

// The flow ends: exchanges still open are reported as incomplete, before
// the flow's own event.
void Connection::finish_http() {
  if (!http_) return;
  try {
    http_->finish();
  } catch (const std::exception&) {
    TerminatorCounters::add(counters_.http_unparsed);
  }
  http_.reset();
}

}  // namespace tlsgate::terminator
