#include "http/passive_engine.h"

#include <exception>
#include <utility>

namespace tlsgate::http {

namespace {

Direction direction_from(Peer from) {
  return from == Peer::client ? Direction::to_server : Direction::to_client;
}

}  // namespace

PassiveEngine::PassiveEngine(HttpPort& port, std::unique_ptr<ProtocolObserver> observer)
    : port_(port), observer_(std::move(observer)), protocol_(observer_->protocol()) {}

void PassiveEngine::on_bytes(Peer from, std::span<const uint8_t> bytes) {
  port_.send(other(from), bytes);
  if (!observer_) return;
  // Observing is best effort: nothing it throws (an allocation) stops the relay.
  try {
    observer_->observe(direction_from(from), bytes);
  } catch (const std::exception&) {
    observer_failed();
    return;
  }
  switch (observer_->stop()) {
    case ObserverStop::observing:
      return;
    case ObserverStop::malformed:
    case ObserverStop::over_limit:
      port_.count_unparsed();
      break;
    case ObserverStop::switched:
    case ObserverStop::not_http:
      break;
  }
  observer_.reset();
}

void PassiveEngine::on_end_of_stream(Peer from) {
  if (observer_) {
    try {
      observer_->end_of_stream(direction_from(from));
    } catch (const std::exception&) {
      observer_failed();
    }
  }
  port_.end_stream(other(from));
}

void PassiveEngine::on_flow_end() {
  if (!observer_) return;
  try {
    observer_->finish();
  } catch (const std::exception&) {
    port_.count_unparsed();
  }
  observer_.reset();
}

void PassiveEngine::observer_failed() {
  port_.count_unparsed();
  observer_.reset();
}

std::unique_ptr<ProtocolEngine> make_passive_engine(HttpPort& port, std::string_view alpn) {
  auto observer = make_observer(alpn, [&port](const Exchange& ex) { port.emit_exchange(ex); });
  return std::make_unique<PassiveEngine>(port, std::move(observer));
}

// h2 until the active h2 engine replaces this.
std::unique_ptr<ProtocolEngine> make_h2_engine(HttpPort& port, const FilterChain& chain) {
  (void)chain;
  return make_passive_engine(port, "h2");
}

}  // namespace tlsgate::http
