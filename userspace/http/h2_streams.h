// The streams an h2 engine relays: each client stream, paired once its
// request went upstream with the stream that carries it there, and the
// exchange run (exchange_run.h) its messages go through. A stream is kept
// until both sessions closed their side of it (or it never went upstream and
// the client side closed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "http/exchange_run.h"
#include "http/h2_body_queue.h"
#include "http/message.h"

namespace tlsgate::http {

// Where a stream's exchange stands.
enum class H2Phase : uint8_t {
  request_head,      // the client's HEADERS are still coming
  request_filters,   // the filters have the request (or hold it)
  upstream,          // the request went upstream; its final response head has not come
  response_filters,  // the filters have the response (or hold it)
  responding,        // the response (or a local reply) goes to the client
};

struct H2Stream {
  explicit H2Stream(int32_t id) : client_id(id) {}

  const int32_t client_id;
  int32_t upstream_id = 0;  // 0: the request has not gone upstream
  H2Phase phase = H2Phase::request_head;
  std::shared_ptr<ExchangeRun> run;  // from the request's complete head on

  RequestHead request_head;    // while its HEADERS come; then the run has it
  ResponseHead response_head;  // a 1xx or the final head, while its HEADERS come
  bool final_response = false;
  H2BodyQueue request_body;   // client → upstream, once the request passed
  H2BodyQueue response_body;  // upstream (or a local reply) → client, once passed
  // Bytes the run holds for its filters that the sending session has not
  // been told were consumed (a waiting run: that peer's window stays shut).
  size_t owed_client = 0;
  size_t owed_upstream = 0;

  bool client_ended = false;    // the client's END_STREAM came
  bool upstream_ended = false;  // the upstream's END_STREAM came
  bool local_reply = false;     // the client gets the gateway's answer
  bool response_submitted = false;
  bool response_deferred = false;  // the client-side data source waits for bytes
  bool request_deferred = false;   // the upstream-side data source waits for bytes
  bool client_closed = false;
  bool upstream_closed = false;
  uint32_t client_error = 0;  // the codes their closes came with
  uint32_t upstream_error = 0;
  bool tunnel = false;  // CONNECT: the stream carries bytes, not a message
};

class H2Streams {
 public:
  H2Stream* by_client(int32_t id);
  H2Stream* by_upstream(int32_t id);
  H2Stream& add(int32_t client_id);
  void pair(H2Stream& s, int32_t upstream_id);
  // Removes it; returns it for its last rites.
  std::unique_ptr<H2Stream> remove(int32_t client_id);
  size_t size() const { return streams_.size(); }
  std::vector<int32_t> client_ids() const;

 private:
  std::map<int32_t, std::unique_ptr<H2Stream>> streams_;  // by client stream id
  std::unordered_map<int32_t, int32_t> upstream_to_client_;
};

}  // namespace tlsgate::http
