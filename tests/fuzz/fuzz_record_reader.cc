// libFuzzer target: the terminator's ClientHelloReader fed the input in
// chunks (sizes taken from the input itself), as TCP would deliver it. Any
// record framing must end in a final status without reading out of bounds,
// and a complete hello must have kept every byte for the replay.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "terminator/client_hello_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t chunk = 1 + data[0] % 64;  // first byte: the segment size
  std::span<const uint8_t> rest(data + 1, size - 1);
  tlsgate::terminator::ClientHelloReader reader(16384);
  size_t fed = 0;
  auto status = tlsgate::terminator::ClientHelloReader::Status::need_more;
  while (!rest.empty() && status == tlsgate::terminator::ClientHelloReader::Status::need_more) {
    auto piece = rest.first(std::min(chunk, rest.size()));
    status = reader.feed(piece);
    fed += piece.size();
    rest = rest.subspan(piece.size());
  }
  if (status == tlsgate::terminator::ClientHelloReader::Status::complete) {
    if (reader.raw().size() != fed) std::abort();
    (void)reader.sni();
    (void)reader.alpn_offered();
  }
  return 0;
}
