#include "http/http2_observer.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

namespace tlsgate::http {

namespace {

std::optional<int> parse_status(std::string_view v) {
  if (v.size() != 3) return std::nullopt;
  int status = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    status = status * 10 + (c - '0');
  }
  return status;
}

}  // namespace

Http2Observer::Http2Observer(ExchangeSink sink) : sink_(std::move(sink)) {}

void Http2Observer::observe(Direction d, std::span<const uint8_t> bytes) {
  if (stop_ != ObserverStop::observing) return;
  Side& side = d == Direction::to_server ? to_server_ : to_client_;
  if (!side.reader_.feed(bytes, side) && stop_ == ObserverStop::observing) {
    stop(ObserverStop::malformed);
  }
}

// ---------------------------------------------------------------- frames

Http2Observer::Side::Side(Http2Observer& owner, Direction d)
    : owner_(owner),
      direction_(d),
      reader_(d == Direction::to_server),
      on_field_([this](std::string_view name, std::string_view value) {
        owner_.header_field(block_is_request_, block_target_, name, value);
      }) {}

bool Http2Observer::Side::frame_begin(const H2Frame& f) {
  switch (f.type) {
    case h2::kHeaders:
    case h2::kPushPromise:
      block_is_request_ = direction_ == Direction::to_server || f.type == h2::kPushPromise;
      block_ends_stream_ =
          f.type == h2::kHeaders && (f.flags & h2::kEndStream) != 0 ? f.stream_id : 0;
      if (!owner_.begin_block(direction_, f, block_target_)) return false;
      break;
    case h2::kData:
      owner_.data(direction_, f.stream_id, f.data_length);
      break;
    default:
      break;
  }
  return owner_.stop_ == ObserverStop::observing;
}

bool Http2Observer::Side::block_fragment(std::span<const uint8_t> bytes) {
  return hpack_.decode(bytes, on_field_);
}

bool Http2Observer::Side::frame_end(const H2Frame& f) {
  switch (f.type) {
    case h2::kHeaders:
    case h2::kPushPromise:
    case h2::kContinuation:
      if ((f.flags & h2::kEndHeaders) == 0) break;
      if (!hpack_.end_block(on_field_)) return false;
      owner_.end_block(direction_, block_target_, block_ends_stream_);
      break;
    case h2::kData:
      if ((f.flags & h2::kEndStream) != 0) owner_.stream_end(direction_, f.stream_id);
      break;
    case h2::kRstStream:
      owner_.reset(f.stream_id);
      break;
    default:
      break;
  }
  return owner_.stop_ == ObserverStop::observing;
}

bool Http2Observer::Side::setting(uint16_t id, uint32_t value) {
  // The sender of a SETTINGS decodes what travels the other way.
  if (id == h2::kSettingsHeaderTableSize) {
    Side& decoder = direction_ == Direction::to_server ? owner_.to_client_ : owner_.to_server_;
    decoder.hpack_.allow_table_size(value);
  }
  return true;
}

// ---------------------------------------------------------------- streams

bool Http2Observer::begin_block(Direction d, const H2Frame& f, uint32_t& target) {
  target = 0;
  if (d == Direction::to_client && f.type == h2::kPushPromise) {
    const uint32_t promised = f.promised_stream;
    if (promised == 0 || promised % 2 != 0 || streams_.contains(promised)) {
      stop(ObserverStop::malformed);
      return false;
    }
    if (streams_.size() >= kMaxStreams) {
      stop(ObserverStop::over_limit);
      return false;
    }
    Stream& s = streams_[promised];
    s.exchange.stream_id = promised;
    s.request_headers = true;
    s.request_ended = true;  // a pushed stream has no request body
    target = promised;
    return true;
  }
  const uint32_t id = f.stream_id;
  if (d == Direction::to_client) {
    if (streams_.contains(id)) target = id;  // else a stream reset or given up: not followed
    return true;
  }
  if (f.type != h2::kHeaders) {  // a client sends no PUSH_PROMISE
    stop(ObserverStop::malformed);
    return false;
  }
  if (auto it = streams_.find(id); it != streams_.end()) {
    return true;  // trailers: nothing in them is reported
  }
  if (id % 2 == 0) {
    stop(ObserverStop::malformed);
    return false;
  }
  if (id <= last_client_stream_) return true;  // a stream already closed
  last_client_stream_ = id;
  if (streams_.size() >= kMaxStreams) {
    stop(ObserverStop::over_limit);
    return false;
  }
  Stream& s = streams_[id];
  s.exchange.stream_id = id;
  s.request_headers = true;
  target = id;
  return true;
}

void Http2Observer::header_field(bool request, uint32_t stream, std::string_view name,
                                 std::string_view value) {
  if (stream == 0) return;
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  Stream& s = it->second;
  Exchange& x = s.exchange;
  if (request) {
    if (name == ":method") {
      capture(x.method, value, kMaxMethod);
      s.connect = value == "CONNECT";
    } else if (name == ":authority" || (name == "host" && x.host.empty())) {
      capture(x.host, value, kMaxHost);
    } else if (name == ":path") {
      x.path_truncated = capture(x.path, value, kMaxPath);
    }
    return;
  }
  if (name == ":status" && !x.status) {
    auto status = parse_status(value);
    if (status && *status >= 200) x.status = status;  // 1xx: interim, the final one follows
  }
}

void Http2Observer::end_block(Direction d, uint32_t target, uint32_t ending_stream) {
  if (d == Direction::to_client && target != 0) {
    auto it = streams_.find(target);
    // A CONNECT stream (RFC 9113 §8.5) carries a tunnel from its 2xx on.
    if (it != streams_.end() && it->second.connect && it->second.exchange.status &&
        *it->second.exchange.status < 300) {
      report(target, ExchangeEnd::upgrade);
    }
  }
  if (ending_stream != 0) stream_end(d, ending_stream);
}

void Http2Observer::data(Direction d, uint32_t stream, uint32_t length) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  Exchange& x = it->second.exchange;
  (d == Direction::to_server ? x.request_bytes : x.response_bytes) += length;
}

void Http2Observer::stream_end(Direction d, uint32_t stream) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  Stream& s = it->second;
  (d == Direction::to_server ? s.request_ended : s.response_ended) = true;
  if (s.request_ended && s.response_ended) report(stream, ExchangeEnd::complete);
}

void Http2Observer::reset(uint32_t stream) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  // A server may reset the rest of an upload it answered without reading
  // (RFC 9113 §8.1): the response was delivered whole.
  report(stream, it->second.response_ended ? ExchangeEnd::complete : ExchangeEnd::reset);
}

void Http2Observer::report(uint32_t stream, ExchangeEnd end) {
  auto it = streams_.find(stream);
  it->second.exchange.end = end;
  sink_(it->second.exchange);
  streams_.erase(it);
}

void Http2Observer::finish() {
  if (stop_ != ObserverStop::observing) return;
  std::vector<uint32_t> open;
  open.reserve(streams_.size());
  for (const auto& [id, s] : streams_) open.push_back(id);
  std::sort(open.begin(), open.end());
  for (uint32_t id : open) report(id, ExchangeEnd::incomplete);
}

void Http2Observer::stop(ObserverStop why) {
  stop_ = why;
  streams_.clear();
}

}  // namespace tlsgate::http
