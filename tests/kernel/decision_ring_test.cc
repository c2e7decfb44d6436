// The `decisions` ring under BPF_PROG_TEST_RUN: each decision the kernel
// takes alone leaves one record (consumed here with libbpf's ring_buffer, as
// the daemon does) naming the flow, the decision, the rule of the matching
// map entry and, for the SNI check, the name checked; a full ring drops
// records (counted) and never changes a verdict.
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "../unit/parser/client_hello_fixtures.h"
#include "frames.h"
#include "kernel/decision_reader.h"
#include "netns.h"
#include "steer_object.h"

namespace tlsgate::test {
namespace {

using kernel::KernelDecision;

constexpr uint32_t kLpmRule = 7;  // LoadedSteer's LPM values
constexpr uint32_t kSniRule = 3;  // LoadedSteer's sni_policy values

struct Drained {
  std::vector<KernelDecision> decisions;
  size_t malformed = 0;
};

int collect(void* ctx, void* data, size_t size) {
  auto* out = static_cast<Drained*>(ctx);
  auto d = kernel::decode_decision({static_cast<const uint8_t*>(data), size});
  if (d) {
    out->decisions.push_back(*d);
  } else {
    ++out->malformed;
  }
  return 0;
}

// Everything in the ring now.
Drained drain(int ring_fd) {
  Drained out;
  ring_buffer* rb = ring_buffer__new(ring_fd, collect, &out, nullptr);
  if (rb == nullptr) {
    ADD_FAILURE() << "ring_buffer__new: " << errno;
    return out;
  }
  EXPECT_GE(ring_buffer__consume(rb), 0);
  ring_buffer__free(rb);
  return out;
}

Bytes syn(const std::string& client, const std::string& server, uint16_t sport = 40000) {
  return build_tcp_frame({.src = client, .dst = server, .sport = sport, .flags = kSyn});
}

void expect_flow(const KernelDecision& d, const std::string& client, uint16_t sport,
                 const std::string& server, uint16_t dport) {
  EXPECT_EQ(d.client.address, *IpAddress::parse(client));
  EXPECT_EQ(d.client.port, sport);
  EXPECT_EQ(d.server.address, *IpAddress::parse(server));
  EXPECT_EQ(d.server.port, dport);
}

class DecisionRing : public NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped()) return;
    prog_ = std::make_unique<LoadedSteer>();
  }

  // A learned bypass-only server and an open BYPASS_VERIFY flow to it.
  void open_verify_flow(const std::string& client, const std::string& server) {
    prog_->add_sni("bank.example", TG_SNI_EXACT);
    prog_->add_sni("pay.example", TG_SNI_WILDCARD);
    prog_->put_learned(server, 443, TG_LEARNED_BYPASS_ONLY);
    ASSERT_EQ(prog_->run_steer(syn(client, server)).retval, static_cast<uint32_t>(TC_ACT_OK));
    ASSERT_EQ(prog_->flow(flow_key(client, 40000, server, 443))->state, TG_FLOW_BYPASS_VERIFY);
  }

  ProgramRun send_hello(const std::string& client, const std::string& server,
                        const std::string& sni) {
    return prog_->run_steer(build_tcp_frame({.src = client,
                                             .dst = server,
                                             .flags = kAck | kPsh,
                                             .seq = 1001,
                                             .ack = 1,
                                             .payload = openssl_client_flight({sni, {}, 0, 0})}));
  }

  std::unique_ptr<LoadedSteer> prog_;
};

TEST_F(DecisionRing, ClientBypassSynIsRecordedWithItsRule) {
  prog_->add_client_bypass("192.168.7.0/24");
  ASSERT_EQ(prog_->run_steer(syn("192.168.7.20", "203.0.113.10")).retval,
            static_cast<uint32_t>(TC_ACT_OK));
  Drained got = drain(prog_->decisions_fd());
  EXPECT_EQ(got.malformed, 0u);
  ASSERT_EQ(got.decisions.size(), 1u);
  const KernelDecision& d = got.decisions[0];
  EXPECT_EQ(d.kind, TG_DECISION_BYPASS_CLIENT);
  EXPECT_EQ(d.reason, TG_REASON_CLIENT_BYPASS);
  EXPECT_EQ(d.rule_index, kLpmRule);
  EXPECT_FALSE(d.sni);
  expect_flow(d, "192.168.7.20", 40000, "203.0.113.10", 443);
}

TEST_F(DecisionRing, DestinationBypassSynIsRecordedForBothFamilies) {
  prog_->add_dst_bypass("198.51.100.0/24");
  prog_->add_dst_bypass("2001:db8:5::/48");
  prog_->run_steer(syn("192.168.7.20", "198.51.100.7", 40001));
  prog_->run_steer(syn("fd00:7::20", "2001:db8:5::7", 40002));
  prog_->run_steer(syn("192.168.7.20", "203.0.113.10", 40003));  // steered path: fail open
  Drained got = drain(prog_->decisions_fd());
  ASSERT_EQ(got.decisions.size(), 3u);
  EXPECT_EQ(got.decisions[0].kind, TG_DECISION_BYPASS_DST);
  EXPECT_EQ(got.decisions[0].rule_index, kLpmRule);
  expect_flow(got.decisions[0], "192.168.7.20", 40001, "198.51.100.7", 443);
  EXPECT_EQ(got.decisions[1].kind, TG_DECISION_BYPASS_DST);
  EXPECT_EQ(got.decisions[1].reason, TG_REASON_DST_BYPASS);
  expect_flow(got.decisions[1], "fd00:7::20", 40002, "2001:db8:5::7", 443);
  EXPECT_EQ(got.decisions[2].kind, TG_DECISION_FAIL_OPEN);
  EXPECT_EQ(got.decisions[2].reason, TG_REASON_NO_LISTENER);
  EXPECT_FALSE(got.decisions[2].rule_index);
}

TEST_F(DecisionRing, SniMismatchIsRecordedWithTheNameChecked) {
  open_verify_flow("fd00:7::20", "2001:db8::10");
  EXPECT_TRUE(drain(prog_->decisions_fd()).decisions.empty()) << "the SYN decided nothing yet";
  ASSERT_EQ(send_hello("fd00:7::20", "2001:db8::10", "evil.example").retval,
            static_cast<uint32_t>(TC_ACT_REDIRECT));
  Drained got = drain(prog_->decisions_fd());
  ASSERT_EQ(got.decisions.size(), 1u);
  const KernelDecision& d = got.decisions[0];
  EXPECT_EQ(d.kind, TG_DECISION_VERIFY_RESET);
  EXPECT_EQ(d.reason, TG_REASON_SNI_MISMATCH);
  EXPECT_EQ(d.sni, "evil.example");
  EXPECT_FALSE(d.rule_index);
  expect_flow(d, "fd00:7::20", 40000, "2001:db8::10", 443);
}

TEST_F(DecisionRing, SniPassCarriesTheSniPolicyRule) {
  open_verify_flow("192.168.7.20", "203.0.113.10");
  ASSERT_EQ(send_hello("192.168.7.20", "203.0.113.10", "a.pay.example").retval,
            static_cast<uint32_t>(TC_ACT_OK));
  Drained got = drain(prog_->decisions_fd());
  ASSERT_EQ(got.decisions.size(), 1u);
  EXPECT_EQ(got.decisions[0].kind, TG_DECISION_VERIFY_PASS);
  EXPECT_EQ(got.decisions[0].sni, "a.pay.example");
  EXPECT_EQ(got.decisions[0].rule_index, kSniRule);
}

TEST_F(DecisionRing, LongSniIsCutToTheRecordSize) {
  std::string long_name = std::string(60, 'a') + ".evil.example";
  open_verify_flow("192.168.7.20", "203.0.113.10");
  send_hello("192.168.7.20", "203.0.113.10", long_name);
  Drained got = drain(prog_->decisions_fd());
  ASSERT_EQ(got.decisions.size(), 1u);
  EXPECT_EQ(got.decisions[0].sni, long_name.substr(0, TG_DECISION_SNI_LEN));
}

TEST_F(DecisionRing, FailClosedAndQuicAreRecorded) {
  tg_gateway_config config = default_gateway_config();
  config.fail_closed = 1;
  prog_->configure(config);
  prog_->run_steer(syn("192.168.7.20", "203.0.113.10"));
  prog_->run_steer(build_udp_frame(
      {.src = "192.168.7.20", .dst = "203.0.113.10", .sport = 51000, .payload = Bytes(1200, 1)}));
  Drained got = drain(prog_->decisions_fd());
  ASSERT_EQ(got.decisions.size(), 2u);
  EXPECT_EQ(got.decisions[0].kind, TG_DECISION_FAIL_CLOSED);
  EXPECT_EQ(got.decisions[0].reason, TG_REASON_NO_LISTENER);
  EXPECT_EQ(got.decisions[1].kind, TG_DECISION_QUIC_REFUSED);
  expect_flow(got.decisions[1], "192.168.7.20", 51000, "203.0.113.10", 443);
}

TEST_F(DecisionRing, FullRingDropsRecordsNotPackets) {
  prog_->add_client_bypass("192.168.7.0/24");
  // 128 bytes per record with its header: the ring holds 2048.
  const size_t capacity = TG_DECISION_RING_SIZE / 128;
  const size_t sent = capacity + 100;
  for (size_t i = 0; i < sent; ++i) {
    Bytes frame = syn("192.168.7.20", "203.0.113.10", static_cast<uint16_t>(20000 + i));
    ASSERT_EQ(prog_->run_steer(frame).retval, static_cast<uint32_t>(TC_ACT_OK)) << i;
  }
  EXPECT_EQ(prog_->counter(TG_CNT_BYPASS_CLIENT), sent);
  const uint64_t dropped = prog_->counter(TG_CNT_DECISIONS_DROPPED);
  EXPECT_GE(dropped, 100u);
  Drained got = drain(prog_->decisions_fd());
  EXPECT_EQ(got.decisions.size() + dropped, sent);
  // Room again once consumed.
  prog_->run_steer(syn("192.168.7.20", "203.0.113.10", 19999));
  EXPECT_EQ(drain(prog_->decisions_fd()).decisions.size(), 1u);
  EXPECT_EQ(prog_->counter(TG_CNT_DECISIONS_DROPPED), dropped);
}

TEST_F(DecisionRing, ReaderThreadDeliversAndStops) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<KernelDecision> seen;
  kernel::DecisionReader reader(prog_->decisions_fd(), [&](const KernelDecision& d) {
    std::lock_guard lock(mu);
    seen.push_back(d);
    cv.notify_all();
  });
  prog_->add_dst_bypass("198.51.100.0/24");
  prog_->run_steer(syn("192.168.7.20", "198.51.100.7"));
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return !seen.empty(); }));
    EXPECT_EQ(seen[0].kind, TG_DECISION_BYPASS_DST);
  }
  reader.stop();
  EXPECT_EQ(reader.records(), 1u);
  EXPECT_EQ(reader.malformed(), 0u);
}

}  // namespace
}  // namespace tlsgate::test
