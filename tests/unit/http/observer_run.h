// Test support: feeds a conversation to an observer, cut in various ways,
// and returns what it reported, one line per exchange.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/exchange.h"

namespace tlsgate::http::testing {

// Bytes that went one way; `end`: that direction ends after them.
struct Piece {
  Direction direction;
  std::string bytes;
  bool end = false;
};

struct Observed {
  std::vector<std::string> exchanges;  // describe() of each, in report order
  ObserverStop stop = ObserverStop::observing;
};

// "GET a.example /x 200 3/5 complete" (+ " #stream" for h2, " (cut)" when
// the path was truncated, "-" for a missing status).
std::string describe(const Exchange& x);

// `step` 0 feeds each piece whole; otherwise in slices of `step` bytes.
// `finish`: the connection ends after the last piece.
Observed run(std::string_view alpn, const std::vector<Piece>& pieces, size_t step = 0,
             bool finish = true);

// Every piece cut at pseudo-random points (fixed seed: the same cuts each run).
Observed run_random_cuts(std::string_view alpn, const std::vector<Piece>& pieces, unsigned seed);

inline Piece to_server(std::string bytes) {
  return {Direction::to_server, std::move(bytes)};
}
inline Piece to_client(std::string bytes) {
  return {Direction::to_client, std::move(bytes)};
}
inline Piece end_of(Direction d) {
  return {d, "", true};
}

}  // namespace tlsgate::http::testing
