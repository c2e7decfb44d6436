// ICAP requests as RFC 3507 writes them: Encapsulated offsets that point at
// each encapsulated head, preview and Allow, X-Client-IP, chunk framing.
#include "icap/icap_request_writer.h"

#include <gtest/gtest.h>

#include <string>

namespace tlsgate::icap {
namespace {

config::IcapUrl url() {
  config::IcapUrl u;
  u.host = "127.0.0.1";
  u.port = 11344;
  u.service = "avscan";
  return u;
}

http::RequestHead get_request() {
  http::RequestHead r;
  r.method = "GET";
  r.scheme = "https";
  r.authority = "files.example";
  r.path = "/eicar.com?x=1";
  r.headers = {{"user-agent", "curl/8"}};
  return r;
}

// The offset of `what` after the ICAP head (where Encapsulated counts from).
size_t encapsulated_offset(const std::string& req, const std::string& what) {
  size_t body = req.find("\r\n\r\n") + 4;
  return req.find(what, body) - body;
}

TEST(IcapRequestWriter, OptionsHasNullBody) {
  EXPECT_EQ(write_options_request(url()),
            "OPTIONS icap://127.0.0.1:11344/avscan ICAP/1.0\r\nHost: 127.0.0.1:11344\r\n"
            "User-Agent: tlsgate\r\nEncapsulated: null-body=0\r\n\r\n");
}

TEST(IcapRequestWriter, RespmodOffsetsPointAtEachHead) {
  http::RequestHead req = get_request();
  http::ResponseHead res;
  res.status = 200;
  res.headers = {{"content-type", "application/octet-stream"}, {"content-length", "68"}};
  ScanMessage m{config::IcapMethod::respmod, &req, &res, "10.0.0.5"};
  auto head = write_scan_head(url(), m, {.has_body = true, .preview = 1024, .allow_204 = true});
  ASSERT_TRUE(head);
  EXPECT_EQ(head->rfind("RESPMOD icap://127.0.0.1:11344/avscan ICAP/1.0\r\n", 0), 0u);
  EXPECT_NE(head->find("\r\nAllow: 204\r\n"), std::string::npos);
  EXPECT_NE(head->find("\r\nPreview: 1024\r\n"), std::string::npos);
  EXPECT_NE(head->find("\r\nX-Client-IP: 10.0.0.5\r\n"), std::string::npos);
  size_t res_at = encapsulated_offset(*head, "HTTP/1.1 200 OK\r\n");
  size_t total = head->size() - (head->find("\r\n\r\n") + 4);
  EXPECT_NE(head->find("Encapsulated: req-hdr=0, res-hdr=" + std::to_string(res_at) +
                       ", res-body=" + std::to_string(total) + "\r\n"),
            std::string::npos)
      << *head;
  EXPECT_EQ(encapsulated_offset(*head, "GET https://files.example/eicar.com?x=1 HTTP/1.1\r\n"), 0u);
  EXPECT_NE(head->find("Host: files.example\r\nuser-agent: curl/8\r\n"), std::string::npos);
}

TEST(IcapRequestWriter, ReqmodWithAndWithoutBody) {
  http::RequestHead req = get_request();
  req.method = "POST";
  ScanMessage m{config::IcapMethod::reqmod, &req, nullptr, ""};
  auto with = write_scan_head(url(), m, {.has_body = true, .preview = std::nullopt});
  ASSERT_TRUE(with);
  size_t total = with->size() - (with->find("\r\n\r\n") + 4);
  EXPECT_NE(with->find("Encapsulated: req-hdr=0, req-body=" + std::to_string(total)),
            std::string::npos);
  EXPECT_EQ(with->find("Preview:"), std::string::npos);
  EXPECT_EQ(with->find("X-Client-IP"), std::string::npos);
  auto without = write_scan_head(url(), m, {.has_body = false, .preview = 10});
  ASSERT_TRUE(without);
  EXPECT_NE(without->find("Encapsulated: req-hdr=0, null-body="), std::string::npos);
  EXPECT_EQ(without->find("Preview:"), std::string::npos) << "no preview without a body";
}

TEST(IcapRequestWriter, RefusesFieldsThatWouldBreakFraming) {
  http::RequestHead req = get_request();
  req.headers.push_back({"x-evil", "a\r\nEncapsulated: null-body=0"});
  ScanMessage m{config::IcapMethod::reqmod, &req, nullptr, ""};
  EXPECT_FALSE(write_scan_head(url(), m, {}));
  http::RequestHead req2 = get_request();
  http::ResponseHead res;
  res.status = 200;
  ScanMessage no_response{config::IcapMethod::respmod, &req2, nullptr, ""};
  EXPECT_FALSE(write_scan_head(url(), no_response, {})) << "RESPMOD needs the response";
}

TEST(IcapRequestWriter, ChunkFraming) {
  EXPECT_EQ(chunk_size_line(0x44), "44\r\n");
  EXPECT_EQ(chunk_size_line(32u << 20), "2000000\r\n");
  EXPECT_EQ(kLastChunkIeof, "0; ieof\r\n\r\n");
}

}  // namespace
}  // namespace tlsgate::icap
