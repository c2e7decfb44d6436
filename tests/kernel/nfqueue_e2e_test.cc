// The NFQUEUE path on real traffic (DESIGN.md §2): client and server
// namespaces on both sides of the test's "router" namespace, KernelSide on
// its LAN side, the server learned bypass-only. A ClientHello whose SNI lies
// in its second segment is queued, reassembled and decided by the
// NfqueueClassifier: a bypassed name reaches the server intact; another
// name is refused (the server gets a RST, the client's retry a RST too) and
// the address is demoted.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "../unit/parser/client_hello_fixtures.h"
#include "kernel/kernel_side.h"
#include "netns.h"
#include "nfqueue/nfqueue_classifier.h"

namespace tlsgate::test {
namespace {

using kernel::KernelSide;

constexpr int kWaitMs = 8000;  // a guard against hanging, not a measurement

struct Plan {
  int family;
  const char* router_lan;
  const char* client;
  const char* router_wan;
  const char* server;
  const char* lan_prefix;
  const char* wan_prefix;
};

const Plan kV4{AF_INET, "192.168.78.1", "192.168.78.2", "198.18.0.1", "198.18.0.2", "24", "24"};
const Plan kV6{AF_INET6, "fd78::1", "fd78::2", "fd79::1", "fd79::2", "64", "64"};

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

Bytes late_sni_flight(const std::string& sni) {
  ClientHelloBuilder b;
  b.add(opaque_extension(kGrease1, 0))
      .add(key_share_extension(0x11ec, 1216))
      .add(padding_extension(300))
      .add(alpn_extension({"h2"}))
      .add(sni_extension(sni));
  return as_record(b.message());
}

class KernelVerdicts final : public nfqueue::QueuedFlowVerdicts {
 public:
  explicit KernelVerdicts(KernelSide& k) : k_(k) {}
  void bypass(const tg_flow_key& flow) override {
    k_.set_flow_state(flow, TG_FLOW_BYPASS, TG_REASON_LEARNED_BYPASS);
  }
  void reset(const tg_flow_key& flow) override {
    k_.set_flow_state(flow, TG_FLOW_RESET, TG_REASON_SNI_MISMATCH);
    Endpoint server;
    if (flow.family == AF_INET) {
      in_addr a{};
      std::memcpy(&a, flow.daddr, 4);
      server.address = IpAddress::v4(a);
    } else {
      in6_addr a{};
      std::memcpy(&a, flow.daddr, 16);
      server.address = IpAddress::v6(a);
    }
    server.port = ntohs(flow.dport);
    k_.learn_mixed(server);
  }

 private:
  KernelSide& k_;
};

class NfqueueEndToEnd : public NetnsTest, public testing::WithParamInterface<Plan> {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped()) return;
    const Plan& p = GetParam();
    const char* ip = p.family == AF_INET ? "ip" : "ip -6";
    const char* nodad = p.family == AF_INET ? "" : " nodad";
    client_ = std::make_unique<OtherNetns>();
    server_ = std::make_unique<OtherNetns>();
    run("ip link add tgq-lan type veth peer name tgq-cli netns " + client_->path());
    run("ip link add tgq-wan type veth peer name tgq-srv netns " + server_->path());
    run(std::string(ip) + " addr add " + p.router_lan + "/" + p.lan_prefix + " dev tgq-lan" +
        nodad);
    run(std::string(ip) + " addr add " + p.router_wan + "/" + p.wan_prefix + " dev tgq-wan" +
        nodad);
    run("ip link set tgq-lan up");
    run("ip link set tgq-wan up");
    run("sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
    client_->run_inside(std::string(ip) + " addr add " + p.client + "/" + p.lan_prefix +
                        " dev tgq-cli" + nodad);
    client_->run_inside("ip link set tgq-cli up");
    client_->run_inside(std::string(ip) + " route add default via " + p.router_lan);
    server_->run_inside(std::string(ip) + " addr add " + p.server + "/" + p.wan_prefix +
                        " dev tgq-srv" + nodad);
    server_->run_inside("ip link set tgq-srv up");
    server_->run_inside(std::string(ip) + " route add default via " + p.router_wan);

    options_.lan_interfaces = {"tgq-lan"};
    options_.pin_dir = "/sys/fs/bpf/tgq-" + std::to_string(getpid());
    side_ = KernelSide::install(options_);
    policy::KernelRules rules;
    rules.sni_bypass = {{"bank.example", false, 0}};
    side_->apply_rules(rules);
    side_->learn_bypass_only({*IpAddress::parse(p.server), 443});
    verdicts_ = std::make_unique<KernelVerdicts>(*side_);
    nfqueue::NfqueueSettings settings;
    settings.queue = options_.nfqueue_num;
    names_ = std::make_shared<const policy::SniBypassSet>(rules.sni_bypass);
    classifier_ = std::make_unique<nfqueue::NfqueueClassifier>(settings, *verdicts_, names_);

    listener_ = server_->socket(p.family, SOCK_STREAM);
    int one = 1;
    setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t len;
    sockaddr_storage at = endpoint(p.family, p.server, 443, &len);
    ASSERT_EQ(bind(listener_.get(), reinterpret_cast<sockaddr*>(&at), len), 0) << strerror(errno);
    ASSERT_EQ(listen(listener_.get(), 8), 0);

    // Neighbours resolved before the test (a refused connection to a port
    // nobody listens on): no SYN of the test lost to it, and no
    // retransmission timer inflated by it.
    UniqueFd warm = client_->socket(p.family, SOCK_STREAM);
    sockaddr_storage closed_port = endpoint(p.family, p.server, 9, &len);
    timeval tv{5, 0};
    setsockopt(warm.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ASSERT_NE(connect(warm.get(), reinterpret_cast<sockaddr*>(&closed_port), len), 0);
    ASSERT_EQ(errno, ECONNREFUSED);
  }

  void TearDown() override {
    if (IsSkipped()) return;
    classifier_.reset();
    if (side_) side_->remove();
    KernelSide::remove_leftovers(options_);
  }

  // Connects from the client namespace and sends `flight` in two segments
  // (the SNI in the second); returns the client socket and the server's.
  std::pair<UniqueFd, UniqueFd> send_split(const Bytes& flight, size_t first) {
    const Plan& p = GetParam();
    UniqueFd c = client_->socket(p.family, SOCK_STREAM);
    int one = 1;
    setsockopt(c.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    socklen_t len;
    sockaddr_storage to = endpoint(p.family, p.server, 443, &len);
    EXPECT_EQ(connect(c.get(), reinterpret_cast<sockaddr*>(&to), len), 0) << strerror(errno);
    UniqueFd s(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    EXPECT_EQ(send(c.get(), flight.data(), first, 0), static_cast<ssize_t>(first));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // two segments, not one
    EXPECT_EQ(send(c.get(), flight.data() + first, flight.size() - first, 0),
              static_cast<ssize_t>(flight.size() - first));
    return {std::move(c), std::move(s)};
  }

  std::unique_ptr<OtherNetns> client_, server_;
  kernel::KernelSideOptions options_;
  std::unique_ptr<KernelSide> side_;
  std::unique_ptr<KernelVerdicts> verdicts_;
  std::shared_ptr<const policy::SniBypassSet> names_;
  std::unique_ptr<nfqueue::NfqueueClassifier> classifier_;
  UniqueFd listener_;
};

TEST_P(NfqueueEndToEnd, BypassedNameInTheSecondSegmentReachesTheServer) {
  Bytes flight = late_sni_flight("bank.example");
  auto [c, s] = send_split(flight, 1000);
  ASSERT_TRUE(s);
  Bytes got;
  std::vector<uint8_t> buf(4096);
  while (got.size() < flight.size()) {
    pollfd p{s.get(), POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, kWaitMs), 1) << "the server got " << got.size() << " bytes";
    ssize_t n = recv(s.get(), buf.data(), buf.size(), 0);
    ASSERT_GT(n, 0);
    got.insert(got.end(), buf.begin(), buf.begin() + n);
  }
  EXPECT_EQ(got, flight);
  // The server's answer comes back; later client bytes are no longer queued.
  ASSERT_EQ(send(s.get(), "ok", 2, 0), 2);
  char answer[2];
  ASSERT_EQ(recv(c.get(), answer, 2, MSG_WAITALL), 2);
  ASSERT_EQ(send(c.get(), "more", 4, 0), 4);
  ASSERT_EQ(recv(s.get(), buf.data(), 4, MSG_WAITALL), 4);

  auto counters = side_->counters();
  EXPECT_EQ(counters.value[TG_CNT_LEARNED_FLOWS], 1u);
  EXPECT_EQ(counters.value[TG_CNT_NFQUEUE_FLOWS], 1u);
  EXPECT_EQ(counters.value[TG_CNT_SNI_RESETS], 0u);
  EXPECT_EQ(classifier_->counters().flows_passed.load(), 1u);
  EXPECT_EQ(side_->learned_verdict({*IpAddress::parse(GetParam().server), 443}),
            TG_LEARNED_BYPASS_ONLY);
}

TEST_P(NfqueueEndToEnd, OtherNameInTheSecondSegmentIsResetAndDemoted) {
  Bytes flight = late_sni_flight("evil.example");
  auto [c, s] = send_split(flight, 1000);
  ASSERT_TRUE(s);
  // The server sees no byte of the hello, only the RST.
  char buf[64];
  pollfd p{s.get(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, kWaitMs), 1);
  errno = 0;
  EXPECT_EQ(recv(s.get(), buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, ECONNRESET);
  // The client's retransmission is answered with a RST by the kernel.
  p = {c.get(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, kWaitMs), 1);
  errno = 0;
  EXPECT_EQ(recv(c.get(), buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, ECONNRESET);

  EXPECT_EQ(classifier_->counters().flows_reset.load(), 1u);
  EXPECT_EQ(side_->learned_verdict({*IpAddress::parse(GetParam().server), 443}), TG_LEARNED_MIXED);
  EXPECT_GE(side_->counters().value[TG_CNT_RESET_REPLIES], 1u);
}

INSTANTIATE_TEST_SUITE_P(Families, NfqueueEndToEnd, testing::Values(kV4, kV6),
                         [](const auto& test) {
                           return std::string(test.param.family == AF_INET ? "IPv4" : "IPv6");
                         });

}  // namespace
}  // namespace tlsgate::test
