// DistributionServer on a loopback port: answers over TCP, and a client that
// sends nothing holds nobody else up.
#include "distribution/distribution_server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../tls/test_pki.h"

namespace tlsgate::distribution {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

UniqueFd connect_to(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  return fd;
}

std::string exchange(int fd, const std::string& request) {
  EXPECT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

class DistributionServerTest : public ::testing::Test {
 protected:
  tls::testing::TempDir dir_;
  std::unique_ptr<tls::CaRegistry> registry_ = tls::CaRegistry::open(dir_.path(), {});
  DistributionServer server_{{config::DistributionListen{IpAddress::parse("127.0.0.1"), "", 0}},
                             [this] { return registry_->published(); }};
  uint16_t port_ = server_.ports().at(0);

  void SetUp() override { server_.start(); }
};

TEST_F(DistributionServerTest, ServesThePageAndTheFiles) {
  UniqueFd a = connect_to(port_);
  EXPECT_THAT(exchange(a.get(), "GET / HTTP/1.1\r\nHost: gw\r\n\r\n"),
              StartsWith("HTTP/1.1 200 OK\r\n"));
  UniqueFd b = connect_to(port_);
  const std::string pem = exchange(b.get(), "GET /ca/tlsgate-default-1.pem HTTP/1.0\r\n\r\n");
  EXPECT_THAT(pem, HasSubstr(registry_->published().at(0).ca->store.root_pem()));
}

TEST_F(DistributionServerTest, ASilentClientDoesNotHoldUpTheNext) {
  UniqueFd silent = connect_to(port_);
  UniqueFd partial = connect_to(port_);
  ASSERT_EQ(::send(partial.get(), "GET / HT", 8, MSG_NOSIGNAL), 8);
  UniqueFd next = connect_to(port_);
  EXPECT_THAT(exchange(next.get(), "GET / HTTP/1.1\r\n\r\n"), StartsWith("HTTP/1.1 200 OK"));
}

TEST_F(DistributionServerTest, AnOverlongHeadIsRefused) {
  UniqueFd fd = connect_to(port_);
  const std::string head = "GET / HTTP/1.1\r\nX: " + std::string(10000, 'a');
  EXPECT_THAT(exchange(fd.get(), head), StartsWith("HTTP/1.1 431"));
}

TEST(DistributionServer, ABadListenAddressIsAnErrorNamingIt) {
  try {
    DistributionServer server({config::DistributionListen{std::nullopt, "nosuchif0", 8080}},
                              [] { return std::vector<tls::PublishedCa>{}; });
    FAIL() << "bound to a missing interface";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("nosuchif0:8080"));
  }
}

}  // namespace
}  // namespace tlsgate::distribution
