// libFuzzer target: the HTTP layer on an HTTP/1.1 flow (strict parser,
// engine, chain runner, authority filter). The input is the client's bytes,
// then "\xff\xff", then the upstream's; they are fed alternately in chunks
// (the first byte sets the size), then both sides end and the flow ends.
// Whatever the bytes, the layer must end every exchange it started exactly
// once and never send the upstream a byte after refusing a request.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "http/authority_filter.h"
#include "http/http_layer.h"

namespace {

using tlsgate::http::Peer;

class FuzzPort final : public tlsgate::http::HttpPort {
 public:
  void send(Peer to, std::span<const uint8_t> bytes) override {
    if (closed && to == Peer::upstream) std::abort();  // nothing goes up after a refusal
    sent[static_cast<int>(to)] += bytes.size();
  }
  size_t pending(Peer) const override { return 0; }
  void end_stream(Peer) override {}
  void close_after_flush(std::string) override { closed = true; }
  void refuse_flow(std::string) override { closed = true; }
  void pause_reading(Peer) override {}
  void resume_reading(Peer) override {}
  void emit_exchange(const tlsgate::http::Exchange&) override { ++events; }
  void count_bad_request() override {}
  void count_unparsed() override {}
  const tlsgate::http::FlowContext& flow() const override { return flow_; }
  void set_protocol(std::string protocol) override { flow_.protocol = std::move(protocol); }

  tlsgate::http::FlowContext flow_;
  size_t sent[2] = {0, 0};
  bool closed = false;
  unsigned events = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t chunk = 1 + data[0] % 97;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t split = input.find("\xff\xff");
  std::string_view from_client = input.substr(0, split);
  std::string_view from_upstream =
      split == std::string_view::npos ? std::string_view{} : input.substr(split + 2);

  FuzzPort port;
  port.flow_.sni = "a.example";
  port.flow_.server.port = 443;
  tlsgate::http::FilterChain chain;
  chain.push_back(tlsgate::http::AuthorityFilterFactory().make(port.flow_));
  tlsgate::http::HttpLayer layer(port, "http/1.1", std::move(chain),
                                 tlsgate::http::NonHttpMode::relay);
  auto feed = [&](Peer from, std::string_view& rest) {
    if (rest.empty() || port.closed) return;
    std::string_view piece = rest.substr(0, chunk);
    rest.remove_prefix(piece.size());
    layer.on_bytes(from, {reinterpret_cast<const uint8_t*>(piece.data()), piece.size()});
  };
  while ((!from_client.empty() || !from_upstream.empty()) && !port.closed) {
    feed(Peer::client, from_client);
    feed(Peer::upstream, from_upstream);
  }
  if (!port.closed) {
    layer.on_end_of_stream(Peer::client);
    layer.on_end_of_stream(Peer::upstream);
  }
  layer.on_flow_end();
  return 0;
}
