// Test support: real HTTP/2 for the observer's tests. H2Peers is an nghttp2
// client and server talking through memory, every byte each sends recorded
// with its direction; H2Wire builds frames by hand (HPACK from nghttp2's
// deflater) for what nghttp2 will not send.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "observer_run.h"

namespace tlsgate::http::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct RequestPlan {
  std::string method = "GET";
  std::string authority;
  std::string path;
  size_t body = 0;
  Headers headers;  // after the pseudo-headers
};

// How the server answers the request for a path.
struct ResponsePlan {
  int status = 200;
  size_t body = 0;
  std::vector<int> interim;              // 1xx responses first
  bool reset = false;                    // RST_STREAM instead of an answer
  std::optional<std::string> push_path;  // a PUSH_PROMISE for it first (200, push_body)
  size_t push_body = 0;
};

inline RequestPlan ask(std::string method, std::string authority, std::string path, size_t body = 0,
                       Headers headers = {}) {
  return {std::move(method), std::move(authority), std::move(path), body, std::move(headers)};
}

inline ResponsePlan answer(int status, size_t body, std::vector<int> interim = {}) {
  ResponsePlan r;
  r.status = status;
  r.body = body;
  r.interim = std::move(interim);
  return r;
}

class H2Peers {
 public:
  struct Options {
    size_t padding = 0;                // added to every HEADERS and DATA frame
    uint32_t server_header_table = 0;  // SETTINGS_HEADER_TABLE_SIZE the server sends; 0: none
    size_t client_deflate_table = 0;   // the client encoder's own bound; 0: nghttp2's default
    bool enable_push = false;
  };
  H2Peers();
  explicit H2Peers(const Options& options);
  ~H2Peers();

  void plan(const std::string& path, ResponsePlan r) { plans_[path] = std::move(r); }
  int32_t request(const RequestPlan& r);
  // Both sides send what they have, until neither has anything left.
  void exchange();

  std::vector<Piece> transcript;

 private:
  struct SessionDeleter {
    void operator()(nghttp2_session* s) const { nghttp2_session_del(s); }
  };
  using Session = std::unique_ptr<nghttp2_session, SessionDeleter>;

  static int on_header(nghttp2_session*, const nghttp2_frame*, const uint8_t*, size_t,
                       const uint8_t*, size_t, uint8_t, void*);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame*, void*);
  static ssize_t pad(nghttp2_session*, const nghttp2_frame*, size_t, void*);
  static ssize_t read_body(nghttp2_session*, int32_t, uint8_t*, size_t, uint32_t*,
                           nghttp2_data_source*, void*);
  void respond(int32_t stream);
  void submit_response(int32_t stream, int status, size_t body);
  nghttp2_data_provider body_of(size_t n);
  bool send(nghttp2_session* from, nghttp2_session* to, Direction d);

  Options options_;
  Session client_;
  Session server_;
  std::map<std::string, ResponsePlan> plans_;
  std::map<int32_t, std::pair<std::string, std::string>> requests_;  // server side: path, authority
  std::vector<std::unique_ptr<size_t>> bodies_;                      // bytes left per body
};

// Hand-made frames; HPACK state per direction, as a real peer keeps it.
class H2Wire {
 public:
  H2Wire();
  static std::string preface();
  static std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload);
  static std::string settings(const std::vector<std::pair<uint16_t, uint32_t>>& entries);
  static std::string data(uint32_t stream, uint8_t flags, size_t length);
  static std::string rst(uint32_t stream);
  // A header block encoded by the sender of `d`.
  std::string block(Direction d, const Headers& headers);
  // HEADERS with END_HEADERS (and `flags`).
  std::string headers(Direction d, uint32_t stream, uint8_t flags, const Headers& headers);

 private:
  struct DeflaterDeleter {
    void operator()(nghttp2_hd_deflater* d) const { nghttp2_hd_deflate_del(d); }
  };
  std::unique_ptr<nghttp2_hd_deflater, DeflaterDeleter> deflaters_[2];
};

}  // namespace tlsgate::http::testing
