// Steering on real traffic, which BPF_PROG_TEST_RUN cannot show (there the
// skb is not at TC ingress and bpf_sk_assign refuses): a client namespace
// connects through a veth pair to a server address beyond the "router" (the
// test's namespace), KernelSide installed on the router's LAN side, and the
// terminator's transparent listener on the loopback accepts the connection.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <ostream>
#include <vector>

#include "kernel/kernel_side.h"
#include "listener.h"
#include "netns.h"

namespace tlsgate::test {
namespace {

using kernel::KernelSide;

constexpr int kWaitMs = 5000;  // a guard against hanging, not a measurement

bool wait_for(int fd, short events) {
  pollfd p{fd, events, 0};
  return poll(&p, 1, kWaitMs) == 1 && (p.revents & events) != 0;
}

struct Addresses {
  int family;
  const char* router;  // on the router's LAN interface
  const char* client;
  const char* server;  // beyond the router: never reached
  const char* prefix;  // LAN prefix length
};

const Addresses kV4{AF_INET, "192.168.77.1", "192.168.77.2", "203.0.113.10", "24"};
const Addresses kV6{AF_INET6, "fd77::1", "fd77::2", "2001:db8::10", "64"};

std::ostream& operator<<(std::ostream& os, const Addresses& a) {
  return os << (a.family == AF_INET ? "IPv4" : "IPv6");
}

sockaddr_storage endpoint(int family, const char* addr, uint16_t port, socklen_t* len) {
  sockaddr_storage ss{};
  if (family == AF_INET) {
    auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    inet_pton(AF_INET, addr, &sa->sin_addr);
    *len = sizeof(sockaddr_in);
  } else {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(port);
    inet_pton(AF_INET6, addr, &sa->sin6_addr);
    *len = sizeof(sockaddr_in6);
  }
  return ss;
}

std::string text_of(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  uint16_t port;
  if (ss.ss_family == AF_INET) {
    auto* sa = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &sa->sin_addr, buf, sizeof(buf));
    port = ntohs(sa->sin_port);
  } else {
    auto* sa = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &sa->sin6_addr, buf, sizeof(buf));
    port = ntohs(sa->sin6_port);
  }
  return std::string(buf) + " " + std::to_string(port);
}

class SteeringEndToEnd : public NetnsTest, public testing::WithParamInterface<Addresses> {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped()) return;
    client_ = std::make_unique<OtherNetns>();
    run("ip link add tgk-lan type veth peer name tgk-cli netns " + client_->path());
    run("ip addr add 192.168.77.1/24 dev tgk-lan");
    run("ip -6 addr add fd77::1/64 dev tgk-lan nodad");
    run("ip link set tgk-lan up");
    client_->run_inside("ip addr add 192.168.77.2/24 dev tgk-cli");
    client_->run_inside("ip -6 addr add fd77::2/64 dev tgk-cli nodad");
    client_->run_inside("ip link set tgk-cli up");
    client_->run_inside("ip route add default via 192.168.77.1");
    client_->run_inside("ip -6 route add default via fd77::1");

    options_.lan_interfaces = {"tgk-lan"};
    options_.pin_dir = "/sys/fs/bpf/tgk-e2e-" + std::to_string(getpid());
  }

  void TearDown() override {
    if (!IsSkipped()) KernelSide::remove_leftovers(options_);
  }

  std::unique_ptr<OtherNetns> client_;
  kernel::KernelSideOptions options_;
};

TEST_P(SteeringEndToEnd, SynReachesTheTerminatorWithTheOriginalDestination) {
  const Addresses& a = GetParam();
  auto side = KernelSide::install(options_);
  UniqueFd listener = transparent_listener(a.family, options_.listen_port);

  UniqueFd client = client_->socket(a.family, SOCK_STREAM | SOCK_NONBLOCK);
  ASSERT_TRUE(client);
  socklen_t len;
  sockaddr_storage server = endpoint(a.family, a.server, 443, &len);
  int rc = connect(client.get(), reinterpret_cast<sockaddr*>(&server), len);
  ASSERT_TRUE(rc == 0 || errno == EINPROGRESS) << std::strerror(errno);

  ASSERT_TRUE(wait_for(listener.get(), POLLIN)) << "no connection reached the listener";
  sockaddr_storage peer{};
  socklen_t peer_len = sizeof(peer);
  UniqueFd accepted(
      accept4(listener.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_CLOEXEC));
  ASSERT_TRUE(accepted);
  sockaddr_storage local{};
  socklen_t local_len = sizeof(local);
  ASSERT_EQ(getsockname(accepted.get(), reinterpret_cast<sockaddr*>(&local), &local_len), 0);
  EXPECT_EQ(text_of(local), std::string(a.server) + " 443");  // the original destination

  sockaddr_storage client_local{};
  socklen_t client_len = sizeof(client_local);
  ASSERT_TRUE(wait_for(client.get(), POLLOUT));
  ASSERT_EQ(getsockname(client.get(), reinterpret_cast<sockaddr*>(&client_local), &client_len), 0);
  EXPECT_EQ(text_of(peer), text_of(client_local));

  // Both directions carry data: later packets are steered too, and the
  // terminator's replies leave with the server's address.
  ASSERT_EQ(send(client.get(), "hello", 5, 0), 5);
  ASSERT_TRUE(wait_for(accepted.get(), POLLIN));
  char buf[16] = {};
  ASSERT_EQ(recv(accepted.get(), buf, sizeof(buf), 0), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  ASSERT_EQ(send(accepted.get(), "world", 5, 0), 5);
  ASSERT_TRUE(wait_for(client.get(), POLLIN));
  ASSERT_EQ(recv(client.get(), buf, sizeof(buf), 0), 5);
  EXPECT_EQ(std::string(buf, 5), "world");

  // The flow table recorded the decision.
  tg_flow_key key{};
  key.family = static_cast<__u8>(a.family);
  if (a.family == AF_INET) {
    auto* c = reinterpret_cast<sockaddr_in*>(&client_local);
    std::memcpy(key.saddr, &c->sin_addr, 4);
    inet_pton(AF_INET, a.server, key.daddr);
    key.sport = c->sin_port;
  } else {
    auto* c = reinterpret_cast<sockaddr_in6*>(&client_local);
    std::memcpy(key.saddr, &c->sin6_addr, 16);
    inet_pton(AF_INET6, a.server, key.daddr);
    key.sport = c->sin6_port;
  }
  key.dport = htons(443);
  UniqueFd flows(bpf_obj_get((options_.pin_dir / "flows").c_str()));
  tg_flow_value flow{};
  ASSERT_EQ(bpf_map_lookup_elem(flows.get(), &key, &flow), 0);
  EXPECT_EQ(flow.state, TG_FLOW_STEER);
  EXPECT_EQ(flow.reason, TG_REASON_STEERED);
  EXPECT_GE(flow.packets, 3u);  // SYN, ACK, data

  kernel::KernelCounters counters = side->counters();
  EXPECT_EQ(counters.value[TG_CNT_STEERED_FLOWS], 1u);
  EXPECT_GE(counters.value[TG_CNT_STEERED_PACKETS], 3u);
  EXPECT_EQ(counters.value[TG_CNT_ASSIGN_ERRORS], 0u);
}

TEST_P(SteeringEndToEnd, FailClosedResetsTheClientWithoutListener) {
  const Addresses& a = GetParam();
  options_.fail_closed = true;
  auto side = KernelSide::install(options_);

  UniqueFd client = client_->socket(a.family, SOCK_STREAM | SOCK_NONBLOCK);
  socklen_t len;
  sockaddr_storage server = endpoint(a.family, a.server, 443, &len);
  int rc = connect(client.get(), reinterpret_cast<sockaddr*>(&server), len);
  ASSERT_TRUE(rc == 0 || errno == EINPROGRESS);
  ASSERT_TRUE(wait_for(client.get(), POLLOUT));
  int err = 0;
  socklen_t err_len = sizeof(err);
  ASSERT_EQ(getsockopt(client.get(), SOL_SOCKET, SO_ERROR, &err, &err_len), 0);
  EXPECT_EQ(err, ECONNREFUSED);  // the client's stack accepted our RST
  EXPECT_EQ(side->counters().value[TG_CNT_FAIL_CLOSED_RESETS], 1u);
}

// The terminator runs one SO_REUSEPORT listener per worker: the kernel
// (6.5+ re-selects within the group after bpf_sk_assign) spreads the
// steered connections over all of them.
TEST_P(SteeringEndToEnd, ReuseportListenersShareTheFlows) {
  const Addresses& a = GetParam();
  auto side = KernelSide::install(options_);
  UniqueFd workers[2] = {transparent_listener(a.family, options_.listen_port),
                         transparent_listener(a.family, options_.listen_port)};
  constexpr int kConnections = 32;  // all on one worker by chance: p = 2^-31
  std::vector<UniqueFd> clients;
  socklen_t len;
  sockaddr_storage server = endpoint(a.family, a.server, 443, &len);
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(client_->socket(a.family, SOCK_STREAM | SOCK_NONBLOCK));
    int rc = connect(clients.back().get(), reinterpret_cast<sockaddr*>(&server), len);
    ASSERT_TRUE(rc == 0 || errno == EINPROGRESS);
  }
  for (auto& c : clients) ASSERT_TRUE(wait_for(c.get(), POLLOUT));
  int accepted[2] = {0, 0};
  for (int w = 0; w < 2; ++w) {
    ASSERT_EQ(fcntl(workers[w].get(), F_SETFL, O_NONBLOCK), 0);
    while (UniqueFd(accept4(workers[w].get(), nullptr, nullptr, SOCK_CLOEXEC))) ++accepted[w];
  }
  EXPECT_EQ(accepted[0] + accepted[1], kConnections);
  EXPECT_GT(accepted[0], 0);
  EXPECT_GT(accepted[1], 0);
  EXPECT_EQ(side->counters().value[TG_CNT_STEERED_FLOWS], static_cast<uint64_t>(kConnections));
}

INSTANTIATE_TEST_SUITE_P(Families, SteeringEndToEnd, testing::Values(kV4, kV6),
                         [](const auto& test) {
                           return std::string(test.param.family == AF_INET ? "IPv4" : "IPv6");
                         });

}  // namespace
}  // namespace tlsgate::test
