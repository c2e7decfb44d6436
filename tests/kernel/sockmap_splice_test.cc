// The sockmap relay (bpf/splice.bpf.c, kernel::SockmapSplicer) on real TCP
// connections in a private network namespace: a "client" connected to the
// terminator's accepted socket, the terminator's own socket connected to a
// "server"; both terminator sockets go into the relay. Bytes must flow both
// ways intact and counted, and the half-close protocol of
// terminator::KernelSpliceWatch must pass a FIN on only after every byte.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "kernel/sockmap_splicer.h"
#include "netns.h"
#include "terminator/kernel_splice_watch.h"

namespace tlsgate::test {
namespace {

constexpr size_t kTransfer = 32u << 20;
constexpr int kWaitMs = 10000;  // a guard against hanging, not a measurement

UniqueFd listen_on(uint16_t port) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(fd.get(), 4) != 0)
    return {};
  return fd;
}

// A connected pair (connector, accepted) over loopback.
std::pair<UniqueFd, UniqueFd> connected_pair(uint16_t port) {
  UniqueFd l = listen_on(port);
  UniqueFd c(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (!l || connect(c.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return {};
  UniqueFd a(accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
  return {std::move(c), std::move(a)};
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> out(n);
  std::mt19937 rng(seed);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

std::array<uint8_t, 32> sha256(const uint8_t* data, size_t n) {
  std::array<uint8_t, 32> out{};
  unsigned len = 0;
  EVP_Digest(data, n, out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

// Sends `data` then shuts down writing; meanwhile nothing else.
void send_all_then_fin(int fd, const std::vector<uint8_t>& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
}

// Reads until EOF (or the guard); returns the bytes.
std::vector<uint8_t> read_to_eof(int fd) {
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(1 << 16);
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, kWaitMs) != 1) break;
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + n);
  }
  return out;
}

class SplicerAdapter final : public terminator::KernelSplice {
 public:
  explicit SplicerAdapter(kernel::SockmapSplicer& s) : s_(s) {}
  std::optional<terminator::SplicedSockets> insert(int a, int b) override {
    auto p = s_.insert(a, b);
    if (!p) return std::nullopt;
    return terminator::SplicedSockets{p->a_cookie, p->b_cookie};
  }
  Bytes bytes(const terminator::SplicedSockets& p) const override {
    auto b = s_.bytes({p.client_cookie, p.upstream_cookie});
    return {b.from_a, b.from_b};
  }
  void remove(const terminator::SplicedSockets& p) override {
    s_.remove({p.client_cookie, p.upstream_cookie});
  }

 private:
  kernel::SockmapSplicer& s_;
};

class SockmapSplice : public NetnsTest {};

TEST_F(SockmapSplice, RelaysBothWaysIntactAndPassesEachFinAfterTheLastByte) {
  auto splicer = kernel::SockmapSplicer::load();
  SplicerAdapter adapter(*splicer);
  auto [client, term_client] = connected_pair(4431);
  auto [term_upstream, server] = connected_pair(4432);
  ASSERT_TRUE(client && term_client && term_upstream && server);

  auto watch =
      terminator::KernelSpliceWatch::start(adapter, term_client.get(), term_upstream.get());
  ASSERT_TRUE(watch);
  // What the terminator itself writes first (the replayed ClientHello).
  const std::string hello = "hello-from-the-terminator";
  ASSERT_EQ(send(term_upstream.get(), hello.data(), hello.size(), 0),
            static_cast<ssize_t>(hello.size()));
  watch->note_sent(false, hello.size());

  const auto up = random_bytes(kTransfer, 1);
  const auto down = random_bytes(kTransfer + 12345, 2);
  std::vector<uint8_t> got_at_server, got_at_client;
  std::thread server_reader([&] { got_at_server = read_to_eof(server.get()); });
  std::thread client_reader([&] { got_at_client = read_to_eof(client.get()); });
  std::thread client_writer([&] { send_all_then_fin(client.get(), up); });
  std::thread server_writer([&] { send_all_then_fin(server.get(), down); });

  // The terminator's part: each FIN seen (POLLRDHUP on its socket) is passed
  // on once everything before it reached the other socket.
  bool shut[2] = {false, false};  // [0]: the client side's FIN passed to the upstream
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!(shut[0] && shut[1]) && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 2; ++i) {
      if (shut[i]) continue;
      int from = i == 0 ? term_client.get() : term_upstream.get();
      int to = i == 0 ? term_upstream.get() : term_client.get();
      pollfd p{from, POLLRDHUP, 0};
      if (poll(&p, 1, 0) != 1 || !(p.revents & POLLRDHUP)) continue;
      if (!watch->all_delivered(/*to_client=*/i == 1)) continue;
      shutdown(to, SHUT_WR);
      shut[i] = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  client_writer.join();
  server_writer.join();
  server_reader.join();
  client_reader.join();
  ASSERT_TRUE(shut[0] && shut[1]) << "a FIN was never passed on";

  std::vector<uint8_t> expected_at_server(hello.begin(), hello.end());
  expected_at_server.insert(expected_at_server.end(), up.begin(), up.end());
  ASSERT_EQ(got_at_server.size(), expected_at_server.size());
  EXPECT_EQ(sha256(got_at_server.data(), got_at_server.size()),
            sha256(expected_at_server.data(), expected_at_server.size()));
  ASSERT_EQ(got_at_client.size(), down.size());
  EXPECT_EQ(sha256(got_at_client.data(), got_at_client.size()), sha256(down.data(), down.size()));

  auto bytes = watch->bytes();
  EXPECT_EQ(bytes.from_client, up.size());
  EXPECT_EQ(bytes.from_upstream, down.size());
}

TEST_F(SockmapSplice, RemovedPairLeavesTheBytesToUserspace) {
  auto splicer = kernel::SockmapSplicer::load();
  auto [client, term_client] = connected_pair(4433);
  auto [term_upstream, server] = connected_pair(4434);
  auto pair = splicer->insert(term_client.get(), term_upstream.get());
  ASSERT_TRUE(pair);
  ASSERT_EQ(send(client.get(), "abc", 3, 0), 3);
  char buf[8] = {};
  pollfd p{server.get(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, kWaitMs), 1);
  ASSERT_EQ(recv(server.get(), buf, sizeof buf, 0), 3);
  EXPECT_EQ(splicer->bytes(*pair).from_a, 3u);

  splicer->remove(*pair);
  ASSERT_EQ(send(client.get(), "xyz", 3, 0), 3);
  p = {term_client.get(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, kWaitMs), 1);
  ASSERT_EQ(recv(term_client.get(), buf, sizeof buf, 0), 3);
  EXPECT_EQ(std::string(buf, 3), "xyz");
  EXPECT_EQ(splicer->bytes(*pair).from_a, 0u);  // the counters went with the pair
}

TEST_F(SockmapSplice, InsertRefusesWhatIsNotAConnectedTcpSocket) {
  auto splicer = kernel::SockmapSplicer::load();
  UniqueFd udp(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  auto [a, b] = connected_pair(4435);
  EXPECT_FALSE(splicer->insert(udp.get(), a.get()));
  UniqueFd unconnected(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_FALSE(splicer->insert(b.get(), unconnected.get()));
  // Nothing half-inserted: the same sockets go in afterwards.
  auto [c, d] = connected_pair(4436);
  EXPECT_TRUE(splicer->insert(b.get(), c.get()));
}

}  // namespace
}  // namespace tlsgate::test
