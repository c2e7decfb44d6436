// The h2 page responder against a real nghttp2 client session in memory:
// preface, SETTINGS, every request answered with the page, then GOAWAY;
// flow control honoured; protocol errors end the session.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pages/page_responder.h"

namespace tlsgate::pages {
namespace {

using ::testing::HasSubstr;

struct ClientStream {
  std::map<std::string, std::string> headers;
  std::string body;
  bool closed = false;
  uint32_t close_error = 0;
};

// An HTTP/2 client session whose bytes go through a PageResponder.
class H2Client {
 public:
  H2Client() {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    nghttp2_session* s = nullptr;
    nghttp2_session_client_new(&s, cb, this);
    nghttp2_session_callbacks_del(cb);
    session_.reset(s);
    nghttp2_submit_settings(session_.get(), NGHTTP2_FLAG_NONE, nullptr, 0);
  }

  // `endless_body`: the request stream stays open, its body never comes.
  int32_t request(const std::string& method, const std::string& path,
                  const std::string& authority = "bad.lab.test",
                  std::vector<std::pair<std::string, std::string>> extra = {},
                  bool endless_body = false) {
    std::vector<std::pair<std::string, std::string>> fields = {
        {":method", method}, {":scheme", "https"}, {":authority", authority}, {":path", path}};
    fields.insert(fields.end(), extra.begin(), extra.end());
    std::vector<nghttp2_nv> nva;
    for (auto& [n, v] : fields) {
      nva.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()),
                     n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    nghttp2_data_provider never{};
    never.read_callback = [](nghttp2_session*, int32_t, uint8_t*, size_t, uint32_t*,
                             nghttp2_data_source*,
                             void*) -> ssize_t { return NGHTTP2_ERR_DEFERRED; };
    int32_t id = nghttp2_submit_request(session_.get(), nullptr, nva.data(), nva.size(),
                                        endless_body ? &never : nullptr, nullptr);
    streams_[id];
    return id;
  }

  // Exchanges bytes until neither side has anything more to say.
  void pump(PageResponder& server) {
    for (int round = 0; round < 100; ++round) {
      std::vector<uint8_t> to_server;
      const uint8_t* data = nullptr;
      for (ssize_t n; (n = nghttp2_session_mem_send(session_.get(), &data)) > 0;) {
        to_server.insert(to_server.end(), data, data + n);
      }
      std::vector<uint8_t> to_client = server.feed(to_server);
      bytes_from_server_ += to_client.size();
      if (!to_client.empty()) {
        nghttp2_session_mem_recv(session_.get(), to_client.data(), to_client.size());
      }
      if (to_server.empty() && to_client.empty()) return;
    }
    ADD_FAILURE() << "the exchange did not settle";
  }

  ClientStream& stream(int32_t id) { return streams_[id]; }
  bool goaway() const { return goaway_; }
  uint32_t goaway_error() const { return goaway_error_; }
  int32_t goaway_last_stream() const { return goaway_last_stream_; }
  size_t bytes_from_server() const { return bytes_from_server_; }

 private:
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* self) {
    static_cast<H2Client*>(self)->streams_[frame->hd.stream_id].headers.emplace(
        std::string(reinterpret_cast<const char*>(name), namelen),
        std::string(reinterpret_cast<const char*>(value), valuelen));
    return 0;
  }
  static int on_data(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                     void* self) {
    static_cast<H2Client*>(self)->streams_[id].body.append(reinterpret_cast<const char*>(data),
                                                           len);
    return 0;
  }
  static int on_frame(nghttp2_session*, const nghttp2_frame* frame, void* self) {
    auto* c = static_cast<H2Client*>(self);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      c->goaway_ = true;
      c->goaway_error_ = frame->goaway.error_code;
      c->goaway_last_stream_ = frame->goaway.last_stream_id;
    }
    return 0;
  }
  static int on_close(nghttp2_session*, int32_t id, uint32_t error, void* self) {
    auto& s = static_cast<H2Client*>(self)->streams_[id];
    s.closed = true;
    s.close_error = error;
    return 0;
  }

  struct Deleter {
    void operator()(nghttp2_session* s) const { nghttp2_session_del(s); }
  };
  std::unique_ptr<nghttp2_session, Deleter> session_;
  std::map<int32_t, ClientStream> streams_;
  bool goaway_ = false;
  uint32_t goaway_error_ = 0;
  int32_t goaway_last_stream_ = -1;
  size_t bytes_from_server_ = 0;
};

class H2Test : public ::testing::Test {
 protected:
  std::vector<PageRequest> seen_;
  std::string body_ = "<p>blocked</p>";
  PageResponder responder_{"h2", [this](const PageRequest& r) {
                             seen_.push_back(r);
                             PageResponse page;
                             page.status = 403;
                             page.headers = page_security_headers();
                             page.body = body_;
                             return page;
                           }};
  H2Client client_;
};

TEST_F(H2Test, SettingsAreDueBeforeAnyInput) {
  EXPECT_FALSE(responder_.feed({}).empty());
  EXPECT_FALSE(responder_.finished());
}

TEST_F(H2Test, AnswersARequestWithThePageThenGoaway) {
  int32_t id = client_.request("GET", "/login?next=%2F");
  client_.pump(responder_);
  ClientStream& s = client_.stream(id);
  EXPECT_EQ(s.headers[":status"], "403");
  EXPECT_EQ(s.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(s.headers["x-frame-options"], "DENY");
  EXPECT_THAT(s.headers["content-security-policy"], HasSubstr("frame-ancestors 'none'"));
  EXPECT_EQ(s.headers["content-length"], std::to_string(body_.size()));
  EXPECT_EQ(s.body, body_);
  EXPECT_TRUE(s.closed);
  EXPECT_EQ(s.close_error, 0u);
  EXPECT_TRUE(client_.goaway());
  EXPECT_EQ(client_.goaway_error(), static_cast<uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_EQ(client_.goaway_last_stream(), id);
  EXPECT_TRUE(responder_.finished());
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].method, "GET");
  EXPECT_EQ(seen_[0].authority, "bad.lab.test");
  EXPECT_EQ(seen_[0].path, "/login?next=%2F");
}

TEST_F(H2Test, EveryRequestInTheFlightIsAnswered) {
  int32_t a = client_.request("GET", "/");
  int32_t b = client_.request("GET", "/favicon.ico");
  int32_t c = client_.request("HEAD", "/x");
  client_.pump(responder_);
  EXPECT_EQ(client_.stream(a).body, body_);
  EXPECT_EQ(client_.stream(b).body, body_);
  EXPECT_EQ(client_.stream(c).headers[":status"], "403");
  EXPECT_EQ(client_.stream(c).headers["content-length"], std::to_string(body_.size()));
  EXPECT_EQ(client_.stream(c).body, "");  // HEAD: no body
  EXPECT_EQ(seen_.size(), 3u);
  EXPECT_EQ(client_.goaway_last_stream(), c);
  EXPECT_TRUE(responder_.finished());
}

TEST_F(H2Test, BodyLargerThanTheWindowIsSentAsTheClientGrantsCredit) {
  body_ = std::string(300 * 1024, 'x');  // > 65535, the initial window
  int32_t id = client_.request("GET", "/");
  client_.pump(responder_);
  EXPECT_EQ(client_.stream(id).body.size(), body_.size());
  EXPECT_TRUE(responder_.finished());
}

TEST_F(H2Test, OversizedHeaderListIs431) {
  int32_t id = client_.request("GET", "/", "bad.lab.test", {{"x-big", std::string(20000, 'x')}});
  client_.pump(responder_);
  EXPECT_EQ(client_.stream(id).headers[":status"], "431");
  EXPECT_TRUE(seen_.empty());
  EXPECT_TRUE(responder_.finished());
}

TEST_F(H2Test, RequestBodyIsNotWaitedFor) {
  // A POST whose body never ends still gets its page.
  int32_t id = client_.request("POST", "/form", "bad.lab.test", {}, true);
  client_.pump(responder_);
  EXPECT_EQ(client_.stream(id).headers[":status"], "403");
  EXPECT_EQ(client_.stream(id).body, body_);
  EXPECT_FALSE(client_.stream(id).closed);  // the client's side is still open
  EXPECT_TRUE(responder_.finished());
}

TEST_F(H2Test, Http1OnAnH2SessionEndsIt) {
  std::string_view request = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  responder_.feed({reinterpret_cast<const uint8_t*>(request.data()), request.size()});
  EXPECT_TRUE(responder_.finished());
  EXPECT_TRUE(seen_.empty());
  std::string_view more = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  EXPECT_TRUE(
      responder_.feed({reinterpret_cast<const uint8_t*>(more.data()), more.size()}).empty());
}

TEST_F(H2Test, NothingIsFinishedBeforeARequestArrives) {
  client_.pump(responder_);  // preface and SETTINGS only
  EXPECT_FALSE(responder_.finished());
  EXPECT_FALSE(client_.goaway());
  int32_t id = client_.request("GET", "/late");
  client_.pump(responder_);
  EXPECT_EQ(client_.stream(id).headers[":status"], "403");
  EXPECT_TRUE(responder_.finished());
}

}  // namespace
}  // namespace tlsgate::pages
