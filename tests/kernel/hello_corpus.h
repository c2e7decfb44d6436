// A deterministic corpus of generated ClientHellos for the kernel/userspace
// differential test (and bench/): random extension order, GREASE, padding,
// large (post-quantum) key shares, ECH-like blobs, records split, segments
// cut at various MSS, and a share of malformed or non-TLS first flights.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../unit/parser/client_hello_fixtures.h"

namespace tlsgate::test {

struct HelloCase {
  std::string what;                // a short description, for failure messages
  std::vector<Bytes> segments;     // TCP payloads, in order
  std::optional<std::string> sni;  // as written (any case, maybe a trailing dot); nullopt: none
  bool well_formed = true;         // a valid ClientHello, whole in the segments
};

// `count` cases from `seed`; the same arguments give the same corpus.
std::vector<HelloCase> generate_hello_corpus(uint32_t seed, size_t count);

// The names the corpus draws SNIs from, and the bypass patterns that make
// some of them pass (exact, wildcard, and names around both).
const std::vector<std::string>& corpus_names();
const std::vector<std::string>& corpus_bypass_patterns();

}  // namespace tlsgate::test
