// HTTP/2 on one connection, read passively (RFC 9113): frames of both
// directions, HPACK decoded to keep up with the encoders, and per stream the
// request's :method, :authority and :path, the final :status and the DATA
// byte counts. An exchange is reported when its stream closes (both sides
// ended it, or a RST_STREAM), or when a CONNECT stream becomes a tunnel.
#pragma once

#include <unordered_map>

#include "http/exchange.h"
#include "http/h2_frame_reader.h"
#include "http/hpack_block_decoder.h"

namespace tlsgate::http {

class Http2Observer final : public ProtocolObserver {
 public:
  // More open streams than this (servers allow about 100) stop the observer.
  static constexpr size_t kMaxStreams = 256;

  explicit Http2Observer(ExchangeSink sink);
  Http2Observer(const Http2Observer&) = delete;  // its sides point at it
  Http2Observer& operator=(const Http2Observer&) = delete;

  void observe(Direction d, std::span<const uint8_t> bytes) override;
  void end_of_stream(Direction) override {}
  void finish() override;
  const char* protocol() const override { return "h2"; }

 private:
  struct Stream {
    Exchange exchange;
    bool request_headers = false;  // seen: later HEADERS are trailers
    bool request_ended = false;
    bool response_ended = false;
    bool connect = false;
  };

  // The frames of one direction, with the header block in progress.
  class Side final : public H2FrameHandler {
   public:
    Side(Http2Observer& owner, Direction d);
    bool frame_begin(const H2Frame& f) override;
    bool block_fragment(std::span<const uint8_t> bytes) override;
    bool frame_end(const H2Frame& f) override;
    bool setting(uint16_t id, uint32_t value) override;

    Http2Observer& owner_;
    Direction direction_;
    H2FrameReader reader_;
    HpackBlockDecoder hpack_;
    HpackBlockDecoder::FieldFn on_field_;
    // The block in progress: the stream its fields are kept for (0: none),
    // whether they are a request's, and the stream its HEADERS frame ended.
    uint32_t block_target_ = 0;
    bool block_is_request_ = false;
    uint32_t block_ends_stream_ = 0;
  };

  bool begin_block(Direction d, const H2Frame& f, uint32_t& target);
  void header_field(bool request, uint32_t stream, std::string_view name, std::string_view value);
  void end_block(Direction d, uint32_t target, uint32_t ending_stream);
  void data(Direction d, uint32_t stream, uint32_t length);
  void stream_end(Direction d, uint32_t stream);
  void reset(uint32_t stream);
  void report(uint32_t stream, ExchangeEnd end);
  void stop(ObserverStop why);

  ExchangeSink sink_;
  Side to_server_{*this, Direction::to_server};
  Side to_client_{*this, Direction::to_client};
  std::unordered_map<uint32_t, Stream> streams_;
  uint32_t last_client_stream_ = 0;
};

}  // namespace tlsgate::http
