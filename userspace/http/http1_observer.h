// HTTP/1.x on one connection, read passively: requests (pipelined, several
// per connection) from one direction, responses from the other, matched in
// order. An exchange is reported once both its messages ended.
#pragma once

#include <deque>

#include "http/exchange.h"
#include "http/h1_body.h"
#include "http/h1_head.h"

namespace tlsgate::http {

class Http1Observer final : public ProtocolObserver {
 public:
  // Bounds: a head larger than kMaxHead, or more than kMaxPipelined
  // requests waiting for their responses, stop the observer.
  static constexpr size_t kMaxHead = 64 * 1024;
  static constexpr size_t kMaxPipelined = 32;

  // `sniffed`: no ALPN named HTTP, so bytes that are not HTTP/1 are not_http
  // rather than malformed.
  Http1Observer(ExchangeSink sink, bool sniffed);

  void observe(Direction d, std::span<const uint8_t> bytes) override;
  void end_of_stream(Direction d) override;
  void finish() override;
  const char* protocol() const override { return "http/1.1"; }

 private:
  struct Pending {
    Exchange exchange;
    bool head_request = false;  // HEAD: the response has no body
    bool connect = false;
    bool upgrade_offered = false;
    bool request_done = false;
    bool response_done = false;
  };
  enum class Reading { head, body, tunnel };

  void read_requests(std::span<const uint8_t> bytes);
  void read_responses(std::span<const uint8_t> bytes);
  bool start_request();
  bool start_response();
  void request_ended();
  void response_ended();
  void report_finished();
  void stop(ObserverStop why);

  void switch_protocols(Pending& p, int status);

  ExchangeSink sink_;
  bool sniffed_;
  bool seen_request_ = false;    // a request parsed: the flow is HTTP/1
  std::deque<Pending> pending_;  // oldest first
  size_t responding_ = 0;        // index in pending_ of the exchange responses are read for

  Reading request_reading_ = Reading::head;
  HeadCollector request_head_{kMaxHead};
  bool request_line_checked_ = false;
  BodyReader request_body_;
  bool tunnel_bytes_ = false;  // the client sent bytes after a CONNECT

  Reading response_reading_ = Reading::head;
  HeadCollector response_head_{kMaxHead};
  BodyReader response_body_;
};

}  // namespace tlsgate::http
