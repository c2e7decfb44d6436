#include "http/exchange.h"

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

bool capture(std::string& to, std::string_view from, size_t cap) {
  const bool cut = from.size() > cap;
  to.assign(from.substr(0, cap));
  return cut;
}

}  // namespace tlsgate::http
