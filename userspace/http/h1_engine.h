// The HTTP/1.1 engine of the HTTP layer (protocol_engine.h): reads requests
// from the client with the strict parser (h1_syntax.h, h1_body_decoder.h),
// runs each through the filter chain (exchange_run.h) and forwards what
// passes; reads the responses and does the same toward the client.
//
// One exchange at a time: a pipelined request waits (buffered, bounded) until
// the response before it ended, so responses stay in order and a local reply
// never overtakes an upstream response. A malformed request is answered 400
// and the connection closed; a malformed response 502 (when nothing of it
// was sent yet) and closed. Chunked bodies are forwarded re-chunked from
// their payload (so a body a filter held can go on in one piece); bodies of
// known length and read-until-close go as they are. A 101 after an Upgrade
// request, or a 2xx to CONNECT, turns the flow into a raw relay.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "http/exchange_run.h"
#include "http/h1_body_decoder.h"
#include "http/h1_syntax.h"
#include "http/protocol_engine.h"

namespace tlsgate::http {

class H1Engine final : public ProtocolEngine, private ExchangeCallbacks {
 public:
  static constexpr size_t kMaxHead = 64 * 1024;
  // Bytes read ahead of what the engine can handle now (the next pipelined
  // request, or a message a filter holds) before that side is paused.
  static constexpr size_t kMaxBacklog = 64 * 1024;
  // A request the gateway answered itself before its body came: up to this
  // much of a body of known length is read and dropped to keep the
  // connection; a longer one, a chunked one, or one the client was told to
  // wait for (Expect: 100-continue unanswered) closes it after the reply
  // ("Connection: close"), as nginx and Squid do.
  static constexpr uint64_t kMaxDiscardedBody = 64 * 1024;

  H1Engine(HttpPort& port, const FilterChain& chain);
  ~H1Engine() override;

  void on_bytes(Peer from, std::span<const uint8_t> bytes) override;
  void on_end_of_stream(Peer from) override;
  void on_flow_end() override;
  bool relaying_raw() const override { return raw_; }
  const char* protocol() const override { return "http/1.1"; }

 private:
  enum class Reading : uint8_t { head, body, done };
  // What the engine keeps of the current exchange's messages beyond their heads.
  struct Framing {
    int minor_version = 1;
    BodyFraming body = BodyFraming::none;
    bool keep_alive = true;
  };

  // ExchangeCallbacks
  void pass_request(ExchangeRun& run, const PassedMessage& message) override;
  void pass_response(ExchangeRun& run, const PassedMessage& message) override;
  void reply(ExchangeRun& run, const LocalReply& reply) override;

  // Reads from `in` as far as the state allows; returns what it consumed.
  size_t read_client(std::span<const uint8_t> in);
  size_t read_upstream(std::span<const uint8_t> in);
  void start_exchange(H1Request request);
  bool start_response(H1Response response);
  void request_payload(std::span<const uint8_t> payload, bool end);
  void response_payload(std::span<const uint8_t> payload, bool end);
  void forward_body(Peer to, BodyFraming framing, std::span<const uint8_t> payload, bool end,
                    std::string_view trailers);
  void maybe_finish();
  void maybe_end_read_until_close();
  bool delivering_after_upstream_end() const;
  bool can_discard_request_body() const;
  void exchange_done(bool keep_alive);
  void refuse_request(const char* reason);
  void refuse_response(const char* reason);
  void switch_to_raw();
  // Handles what waits in the backlogs once the state allows, then pauses or
  // resumes each side (not while the engine is already at work).
  void pump();
  void update_pauses();
  void maybe_continue();
  void send(Peer to, std::string_view bytes);
  void close(std::string reason);
  void maybe_close_on_end();

  HttpPort& port_;
  const FilterChain& chain_;
  std::shared_ptr<ExchangeRun> run_;  // the current exchange

  Reading request_reading_ = Reading::head;
  H1HeadCollector request_head_{kMaxHead};
  H1BodyDecoder request_body_;
  Framing request_;
  bool expect_continue_ = false;
  bool sent_continue_ = false;  // the gateway answered Expect itself
  bool upgrade_offered_ = false;
  bool connect_ = false;
  bool head_request_ = false;
  bool request_passed_ = false;

  Reading response_reading_ = Reading::done;  // head once the request went upstream
  H1HeadCollector response_head_{kMaxHead};
  H1BodyDecoder response_body_;
  Framing response_;
  bool response_passed_ = false;
  bool response_complete_ = false;  // all of the response came (it may still be held)
  bool tunnel_after_response_ = false;
  std::string response_reason_;

  std::string chunk_buffer_;  // a chunk being framed (kept while a body flows)
  std::string client_backlog_;
  std::string upstream_backlog_;
  bool paused_[2] = {false, false};
  bool busy_ = false;     // inside on_bytes / pump: callbacks leave the pumping to it
  bool closing_ = false;  // the connection ends: nothing more is read
  bool closed_ = false;   // the engine asked the port to close the connection
  // A peer ended its stream (a half-close): the flow closes once nothing
  // more is awaited from the other (a client that ended after its request
  // still gets the response).
  bool client_ended_ = false;
  bool upstream_ended_ = false;
  bool raw_ = false;
};

}  // namespace tlsgate::http
