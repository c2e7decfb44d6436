// Test support: an H2Engine between two real nghttp2 peers in memory — a
// client session that sends requests and a server session that answers them
// as planned per path — with every exchange the engine reported.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/h2_engine.h"
#include "memory_port.h"

namespace tlsgate::http::testing {

// Bytes of a body: byte i of every body is pattern_byte(i).
std::string pattern(size_t n);

// What one side sends on a stream: bytes, then trailers, then the end (or
// not yet: more may be added with H2Rig::send_more / end).
struct Outgoing {
  std::string bytes;
  size_t offset = 0;
  HeaderList trailers;
  bool ends = true;
  bool deferred = false;
};

struct RigRequest {
  std::string method = "GET";
  std::string authority = "a.test";
  std::string path = "/";
  std::string protocol;  // extended CONNECT
  HeaderList headers;
  std::string body;
  HeaderList trailers;
  bool ends = true;  // false: the body stays open (a tunnel)
};

// How the server answers a path.
struct RigPlan {
  int status = 200;
  HeaderList headers;
  std::string body;
  HeaderList trailers;
  std::vector<int> interim;
  std::optional<uint32_t> reset;  // RST_STREAM with this code instead of an answer
  bool at_headers = false;        // answer at the request's HEADERS, not its end
  bool echo = false;              // the response body is what the request sends (a tunnel)
  bool manual = false;            // the test answers with H2Rig::respond
};

// What one peer saw of one stream.
struct SeenMessage {
  std::string method, authority, path, protocol;  // the server's view of a request
  int status = 0;                                 // the client's view of a response
  std::vector<int> interim;
  HeaderList headers;
  std::string body;
  HeaderList trailers;
  bool head_done = false;  // what follows are trailers
  bool ended = false;
  bool closed = false;
  uint32_t close_code = 0;
};

class H2Rig {
 public:
  struct Options {
    bool server_enables_connect_protocol = false;
  };
  H2Rig(FilterChain filters, Options options);
  explicit H2Rig(FilterChain filters = {}) : H2Rig(std::move(filters), Options{}) {}
  ~H2Rig();

  void plan(const std::string& path, RigPlan p) { plans_[path] = std::move(p); }
  int32_t request(const RigRequest& r);
  // Runs both peers and the engine until nothing moves.
  void run();

  // What the client saw of its stream `id`; what the server saw of the
  // request for `path` (the last one with that path).
  SeenMessage& client(int32_t id) { return client_seen_[id]; }
  SeenMessage* server(const std::string& path);
  int32_t server_stream(const std::string& path);
  size_t server_streams() const { return server_seen_.size(); }

  // Test-driven peers.
  void respond(const std::string& path, const RigPlan& p);
  void client_send_more(int32_t id, const std::string& bytes, bool end);
  void client_reset(int32_t id, uint32_t code);
  void server_reset(const std::string& path, uint32_t code);
  void client_goaway();
  void server_goaway();
  nghttp2_session* client_session() { return client_.get(); }
  nghttp2_session* server_session() { return server_.get(); }
  H2Engine& engine() { return *engine_; }

  // The client reads nothing while false: the engine's output to it waits.
  bool client_reading = true;
  uint64_t server_body_sent = 0;  // DATA payload the server sent, all streams
  bool client_goaway_seen = false;
  int client_ping_acks = 0;
  int server_pings = 0;  // PINGs (not acks) the server received
  int server_ping_acks = 0;
  bool server_goaway_seen = false;
  MemoryPort port;  // the engine's; its exchanges are the `http` events
  const std::vector<Exchange>& exchanges() const { return port.exchanges; }

 private:
  static int on_header(nghttp2_session*, const nghttp2_frame*, const uint8_t*, size_t,
                       const uint8_t*, size_t, uint8_t, void*);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_data(nghttp2_session*, uint8_t, int32_t, const uint8_t*, size_t, void*);
  static int on_close(nghttp2_session*, int32_t, uint32_t, void*);
  static int on_frame_send(nghttp2_session*, const nghttp2_frame*, void*);
  static ssize_t read_outgoing(nghttp2_session*, int32_t, uint8_t*, size_t, uint32_t*,
                               nghttp2_data_source*, void*);
  void answer(int32_t stream, const RigPlan& p);
  SeenMessage& seen(nghttp2_session* s, int32_t id);
  Outgoing& outgoing(nghttp2_session* s, int32_t id);
  nghttp2_data_provider provider();
  bool pump(nghttp2_session* from, bool client_side);

  H2SessionPtr client_;
  H2SessionPtr server_;
  FilterChain chain_;
  std::unique_ptr<H2Engine> engine_;
  std::map<std::string, RigPlan> plans_;
  std::map<int32_t, SeenMessage> client_seen_;
  std::map<int32_t, SeenMessage> server_seen_;
  std::map<int32_t, Outgoing> client_out_;
  std::map<int32_t, Outgoing> server_out_;
};

}  // namespace tlsgate::http::testing
