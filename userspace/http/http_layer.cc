#include "http/http_layer.h"

#include <cstring>
#include <utility>

namespace tlsgate::http {

namespace {

constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// An HTTP/1 request line starts with a method token and a space (RFC 9110
// §9: tokens); the longest method we wait for before deciding.
constexpr size_t kMaxMethodSniff = 32;

bool is_tchar(uint8_t c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

}  // namespace

SniffedProtocol sniff_protocol(std::span<const uint8_t> first) {
  if (first.empty()) return SniffedProtocol::need_more;
  size_t n = std::min(first.size(), kH2Preface.size());
  if (std::memcmp(first.data(), kH2Preface.data(), n) == 0) {
    return n == kH2Preface.size() ? SniffedProtocol::h2 : SniffedProtocol::need_more;
  }
  for (size_t i = 0; i < first.size() && i <= kMaxMethodSniff; ++i) {
    if (first[i] == ' ') return i > 0 ? SniffedProtocol::http1 : SniffedProtocol::not_http;
    if (!is_tchar(first[i])) return SniffedProtocol::not_http;
  }
  return first.size() > kMaxMethodSniff ? SniffedProtocol::not_http : SniffedProtocol::need_more;
}

std::unique_ptr<ProtocolEngine> make_engine(EngineKind kind, HttpPort& port,
                                            const FilterChain& chain) {
  return kind == EngineKind::h2 ? make_h2_engine(port, chain) : make_h1_engine(port, chain);
}

HttpLayer::HttpLayer(HttpPort& port, std::string_view alpn, FilterChain chain, NonHttpMode non_http)
    : port_(port), chain_(std::move(chain)), non_http_(non_http) {
  if (alpn == "h2") {
    decide(SniffedProtocol::h2);
  } else if (alpn == "http/1.1" || alpn == "http/1.0") {
    decide(SniffedProtocol::http1);
  } else if (alpn.empty()) {
    deciding_ = true;
  } else {
    decide(SniffedProtocol::not_http);
  }
}

HttpLayer::~HttpLayer() = default;

void HttpLayer::decide(SniffedProtocol what) {
  deciding_ = false;
  std::string first = std::exchange(first_bytes_, {});
  switch (what) {
    case SniffedProtocol::h2:
      engine_ = make_engine(EngineKind::h2, port_, chain_);
      break;
    case SniffedProtocol::http1:
      engine_ = make_engine(EngineKind::http1, port_, chain_);
      break;
    case SniffedProtocol::need_more:
    case SniffedProtocol::not_http:
      not_http_ = true;
      if (non_http_ == NonHttpMode::block) {
        port_.refuse_flow("non_http_blocked");
        return;
      }
      break;
  }
  if (engine_) port_.set_protocol(engine_->protocol());
  if (first.empty()) return;
  auto bytes =
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(first.data()), first.size());
  if (engine_) {
    engine_->on_bytes(Peer::client, bytes);
  } else {
    port_.send(Peer::upstream, bytes);
  }
}

void HttpLayer::on_bytes(Peer from, std::span<const uint8_t> bytes) {
  if (deciding_) {
    if (from == Peer::upstream) {  // the server speaks first: not HTTP
      decide(SniffedProtocol::not_http);
    } else {
      first_bytes_.append(bytes.begin(), bytes.end());
      auto first = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(first_bytes_.data()),
                                            first_bytes_.size());
      SniffedProtocol what = sniff_protocol(first);
      if (what != SniffedProtocol::need_more) decide(what);
      return;
    }
  }
  if (engine_ && !engine_->relaying_raw()) {
    engine_->on_bytes(from, bytes);
    return;
  }
  if (not_http_ && non_http_ == NonHttpMode::block) return;
  port_.send(other(from), bytes);
}

void HttpLayer::on_end_of_stream(Peer from) {
  if (deciding_) {
    if (first_bytes_.empty()) {  // nothing was said: nothing to judge, the end goes on
      port_.end_stream(other(from));
      return;
    }
    decide(SniffedProtocol::not_http);
  }
  if (engine_ && !engine_->relaying_raw()) {
    engine_->on_end_of_stream(from);
    return;
  }
  port_.end_stream(other(from));
}

void HttpLayer::on_drained(Peer to) {
  if (engine_) engine_->on_drained(to);
}

void HttpLayer::on_flow_end() {
  if (engine_) engine_->on_flow_end();
}

bool HttpLayer::relaying_raw() const {
  if (deciding_) return false;
  return engine_ ? engine_->relaying_raw() : true;
}

const char* HttpLayer::protocol() const {
  return engine_ ? engine_->protocol() : "";
}

}  // namespace tlsgate::http
