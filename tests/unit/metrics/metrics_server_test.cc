#include "metrics/metrics_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "metrics/prometheus_text.h"

namespace tlsgate::metrics {
namespace {

std::string body_metrics() {
  return "m 1\n";
}

TEST(HttpResponse, RoutesOnlyGetMetrics) {
  const auto ok = http_response("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", body_metrics);
  EXPECT_EQ(ok, std::string("HTTP/1.1 200 OK\r\nContent-Type: ") + kContentType +
                    "\r\nContent-Length: 4\r\nConnection: close\r\n\r\nm 1\n");
  EXPECT_TRUE(http_response("GET /metrics?x=1 HTTP/1.0\r\n\r\n", body_metrics)
                  .starts_with("HTTP/1.1 200 OK"));
  const auto head = http_response("HEAD /metrics HTTP/1.1\r\n\r\n", body_metrics);
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK"));
  EXPECT_TRUE(head.ends_with("Content-Length: 4\r\nConnection: close\r\n\r\n"));
  EXPECT_TRUE(http_response("GET / HTTP/1.1\r\n\r\n", body_metrics).starts_with("HTTP/1.1 404"));
  EXPECT_TRUE(
      http_response("POST /metrics HTTP/1.1\r\n\r\n", body_metrics).starts_with("HTTP/1.1 405"));
  EXPECT_TRUE(http_response("garbage\r\n\r\n", body_metrics).starts_with("HTTP/1.1 400"));
  EXPECT_TRUE(http_response("GET /metrics SMTP\r\n\r\n", body_metrics).starts_with("HTTP/1.1 400"));
}

std::string fetch(uint16_t port, const std::string& request) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) return "connect";
  ::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd.get(), buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

TEST(MetricsServer, ServesOverTcpAndStops) {
  int renders = 0;
  MetricsServer server(Endpoint{*IpAddress::parse("127.0.0.1"), 0}, [&] {
    ++renders;
    return std::string("tlsgate_up 1\n");
  });
  ASSERT_NE(server.port(), 0);
  server.start();
  const auto answer = fetch(server.port(), "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer;
  EXPECT_TRUE(answer.ends_with("\r\n\r\ntlsgate_up 1\n")) << answer;
  EXPECT_TRUE(fetch(server.port(), "GET /x HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
  EXPECT_EQ(renders, 1);
  server.stop();
  EXPECT_EQ(fetch(server.port(), "GET /metrics HTTP/1.1\r\n\r\n"), "connect");  // refused
}

TEST(MetricsServer, AddressInUseIsAClearError) {
  MetricsServer first(Endpoint{*IpAddress::parse("127.0.0.1"), 0}, body_metrics);
  try {
    MetricsServer second(Endpoint{*IpAddress::parse("127.0.0.1"), first.port()}, body_metrics);
    ADD_FAILURE() << "bound twice";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bind"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tlsgate::metrics
