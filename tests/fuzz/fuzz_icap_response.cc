// libFuzzer target: the ICAP reader (userspace/icap/icap_response_parser),
// fed what an ICAP service sends on one connection, in chunks (the first
// byte sets their size), response after response. Whatever the bytes: the
// parser never claims more than it was given, ends in done or in an error
// with a reason, never keeps a body over its limit, and after reset() reads
// the next response from where the last one ended.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "icap/icap_response_parser.h"

namespace {
constexpr size_t kMaxBody = 64 * 1024;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t chunk = 1 + data[0] % 97;
  std::span<const uint8_t> rest(data + 1, size - 1);
  tlsgate::icap::IcapResponseParser parser(kMaxBody);
  using Status = tlsgate::icap::IcapResponseParser::Status;
  while (!rest.empty()) {
    const auto piece = rest.first(std::min(chunk, rest.size()));
    size_t used = 0;
    const Status status = parser.feed(piece, used);
    if (used > piece.size()) std::abort();
    rest = rest.subspan(used);
    if (status == Status::error) {
      if (parser.error().empty()) std::abort();  // every refusal says why
      return 0;
    }
    if (status == Status::done) {
      const auto& r = parser.response();
      if (r.body.size() > kMaxBody) std::abort();
      if (r.status < 100 || r.status > 999) std::abort();
      parser.reset();
      continue;
    }
    if (used < piece.size()) std::abort();  // need_more must have taken everything
  }
  return 0;
}
