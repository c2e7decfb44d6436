#include "observer_run.h"

#include <algorithm>
#include <random>
#include <span>

namespace tlsgate::http::testing {

namespace {

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Feeds each piece as the sizes `cut` yields for it.
template <typename Cut>
Observed feed(std::string_view alpn, const std::vector<Piece>& pieces, bool finish, Cut cut) {
  Observed out;
  auto observer =
      make_observer(alpn, [&](const Exchange& x) { out.exchanges.push_back(describe(x)); });
  for (const Piece& p : pieces) {
    std::string_view rest = p.bytes;
    while (!rest.empty()) {
      const size_t n = std::min(rest.size(), cut(rest.size()));
      observer->observe(p.direction, bytes_of(rest.substr(0, n)));
      rest.remove_prefix(n);
    }
    if (p.end) observer->end_of_stream(p.direction);
  }
  if (finish) observer->finish();
  out.stop = observer->stop();
  return out;
}

}  // namespace

std::string describe(const Exchange& x) {
  std::string s = x.method + " " + x.host + " " + x.path + " ";
  s += x.status ? std::to_string(*x.status) : "-";
  s += " " + std::to_string(x.request_bytes) + "/" + std::to_string(x.response_bytes) + " ";
  s += to_string(x.end);
  if (x.stream_id != 0) s += " #" + std::to_string(x.stream_id);
  if (x.path_truncated) s += " (cut)";
  return s;
}

Observed run(std::string_view alpn, const std::vector<Piece>& pieces, size_t step, bool finish) {
  return feed(alpn, pieces, finish, [&](size_t left) { return step == 0 ? left : step; });
}

Observed run_random_cuts(std::string_view alpn, const std::vector<Piece>& pieces, unsigned seed) {
  std::mt19937 random(seed);
  return feed(alpn, pieces, true, [&](size_t left) {
    std::uniform_int_distribution<size_t> size(1, std::max<size_t>(1, std::min<size_t>(left, 97)));
    return size(random);
  });
}

}  // namespace tlsgate::http::testing
