#include "http/exchange.h"

#include <stdexcept>

#include "http/http2_observer.h"

namespace tlsgate::http {

const char* to_string(ExchangeEnd e) {
  switch (e) {
    case ExchangeEnd::complete:
      return "complete";
    case ExchangeEnd::reset:
      return "reset";
    case ExchangeEnd::upgrade:
      return "upgrade";
    case ExchangeEnd::incomplete:
      return "incomplete";
  }
  return "?";
}

const char* to_string(ObserverStop s) {
  switch (s) {
    case ObserverStop::observing:
      return "observing";
    case ObserverStop::switched:
      return "switched";
    case ObserverStop::not_http:
      return "not_http";
    case ObserverStop::malformed:
      return "malformed";
    case ObserverStop::over_limit:
      return "over_limit";
  }
  return "?";
}

std::unique_ptr<ProtocolObserver> make_observer(std::string_view alpn, ExchangeSink sink) {
  if (alpn != "h2") throw std::invalid_argument("only h2 is observed passively");
  return std::make_unique<Http2Observer>(std::move(sink));
}

bool capture(std::string& to, std::string_view from, size_t cap) {
  const bool cut = from.size() > cap;
  to.assign(from.substr(0, cap));
  return cut;
}

}  // namespace tlsgate::http
