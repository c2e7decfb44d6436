// BYPASS_VERIFY and NFQUEUE (DESIGN.md §2) under BPF_PROG_TEST_RUN: a SYN to
// a learned bypass-only address is forwarded with its SNI still to check;
// the first payload decides (bypassed name: BYPASS; any other: RESET on both
// ends and the address demoted; SNI not in the segment: userspace through
// NFQUEUE). Every transition for IPv4 and IPv6.
#include <linux/pkt_cls.h>

#include <gtest/gtest.h>

#include <string>

#include "../unit/parser/client_hello_fixtures.h"
#include "frames.h"
#include "netns.h"
#include "steer_object.h"

namespace tlsgate::test {
namespace {

struct Family {
  const char* name;
  const char* client;
  const char* server;
  const char* other_server;
};

const Family kV4{"IPv4", "192.168.7.20", "203.0.113.10", "203.0.113.99"};
const Family kV6{"IPv6", "fd00:7::20", "2001:db8::10", "2001:db8::99"};

constexpr uint32_t kServerIsn = 0x5000;
constexpr uint32_t kClientIsn = 0x1000;

Bytes hello_for(const std::string& sni) {
  return openssl_client_flight({sni, {"h2", "http/1.1"}, 0, 0});
}

// A ClientHello whose SNI lies beyond the first `first_segment` bytes (post-
// quantum key shares put it there), split as TCP would.
std::pair<Bytes, Bytes> late_sni_hello(const std::string& sni, size_t first_segment = 1400) {
  ClientHelloBuilder b;
  b.add(opaque_extension(kGrease1, 0))
      .add(opaque_extension(10, 8))
      .add(key_share_extension(0x11ec, 1216))  // X25519MLKEM768
      .add(supported_versions_extension({0x0304}))
      .add(padding_extension(400))
      .add(sni_extension(sni));
  Bytes record = as_record(b.message());
  Bytes first(record.begin(), record.begin() + static_cast<long>(first_segment));
  Bytes second(record.begin() + static_cast<long>(first_segment), record.end());
  return {first, second};
}

class VerifyFlow : public NetnsTest, public testing::WithParamInterface<Family> {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped()) return;
    prog_ = std::make_unique<LoadedSteer>();
    prog_->add_sni("bank.example", TG_SNI_EXACT);
    prog_->add_sni("pay.example", TG_SNI_WILDCARD);
    prog_->put_learned(GetParam().server, 443, TG_LEARNED_BYPASS_ONLY);
  }

  const Family& f() const { return GetParam(); }
  tg_flow_key key() const { return flow_key(f().client, 40000, f().server, 443); }

  TcpFrameSpec segment(uint8_t flags, Bytes payload = {}, uint32_t offset = 0) const {
    return {.src = f().client,
            .dst = f().server,
            .flags = flags,
            .seq = kClientIsn + 1 + offset,
            .ack = kServerIsn + 1,
            .payload = std::move(payload)};
  }

  // SYN and the handshake's ACK: the flow is BYPASS_VERIFY.
  void open_flow() {
    TcpFrameSpec syn{.src = f().client, .dst = f().server, .flags = kSyn, .seq = kClientIsn};
    ASSERT_EQ(prog_->run_steer(build_tcp_frame(syn)).retval, static_cast<uint32_t>(TC_ACT_OK));
    ProgramRun ack = prog_->run_steer(build_tcp_frame(segment(kAck)));
    ASSERT_EQ(ack.retval, static_cast<uint32_t>(TC_ACT_OK));
    ASSERT_EQ(ack.mark, 0u);
    ASSERT_EQ(prog_->flow(key())->state, TG_FLOW_BYPASS_VERIFY);
  }

  std::unique_ptr<LoadedSteer> prog_;
};

TEST_P(VerifyFlow, SynToLearnedBypassOnlyAddressIsForwardedUnverified) {
  Bytes syn = build_tcp_frame({.src = f().client, .dst = f().server, .flags = kSyn});
  ProgramRun out = prog_->run_steer(syn);
  EXPECT_EQ(out.retval, static_cast<uint32_t>(TC_ACT_OK));
  EXPECT_EQ(out.data_out, syn);
  EXPECT_EQ(out.mark, 0u);
  auto flow = prog_->flow(key());
  ASSERT_TRUE(flow);
  EXPECT_EQ(flow->state, TG_FLOW_BYPASS_VERIFY);
  EXPECT_EQ(flow->reason, TG_REASON_LEARNED_BYPASS);
  EXPECT_EQ(prog_->counter(TG_CNT_LEARNED_FLOWS), 1u);
  EXPECT_EQ(prog_->counter(TG_CNT_NO_LISTENER), 0u);
}

TEST_P(VerifyFlow, MixedExpiredOrOtherPortIsSteered) {
  prog_->put_learned(f().other_server, 443, TG_LEARNED_MIXED);
  prog_->put_learned(f().server, 8443, TG_LEARNED_BYPASS_ONLY, -1'000'000);  // expired
  for (auto [server, port] :
       {std::pair<const char*, uint16_t>{f().other_server, 443}, {f().server, 8443}}) {
    prog_->run_steer(
        build_tcp_frame({.src = f().client, .dst = server, .dport = port, .flags = kSyn}));
    auto flow = prog_->flow(flow_key(f().client, 40000, server, port));
    ASSERT_TRUE(flow);
    EXPECT_EQ(flow->reason, TG_REASON_NO_LISTENER) << server << ":" << port;  // the steer path
  }
  EXPECT_EQ(prog_->counter(TG_CNT_LEARNED_FLOWS), 0u);
}

TEST_P(VerifyFlow, ClientBypassIsCheckedFirst) {
  prog_->add_client_bypass(std::string(f().client) + (f().name[3] == '4' ? "/32" : "/128"));
  prog_->run_steer(build_tcp_frame({.src = f().client, .dst = f().server, .flags = kSyn}));
  EXPECT_EQ(prog_->flow(key())->state, TG_FLOW_BYPASS);
  EXPECT_EQ(prog_->flow(key())->reason, TG_REASON_CLIENT_BYPASS);
}

TEST_P(VerifyFlow, BypassedNameMakesItBypass) {
  for (const char* sni : {"bank.example", "a.pay.example", "x.y.pay.example", "BANK.example."}) {
    SCOPED_TRACE(sni);
    prog_ = std::make_unique<LoadedSteer>();
    prog_->add_sni("bank.example", TG_SNI_EXACT);
    prog_->add_sni("pay.example", TG_SNI_WILDCARD);
    prog_->put_learned(f().server, 443, TG_LEARNED_BYPASS_ONLY);
    open_flow();
    Bytes data = build_tcp_frame(segment(kAck | kPsh, hello_for(sni)));
    ProgramRun out = prog_->run_steer(data);
    EXPECT_EQ(out.retval, static_cast<uint32_t>(TC_ACT_OK));
    EXPECT_EQ(out.data_out, data);
    EXPECT_EQ(out.mark, 0u);
    EXPECT_EQ(prog_->flow(key())->state, TG_FLOW_BYPASS);
    EXPECT_EQ(prog_->counter(TG_CNT_SNI_VERIFIED), 1u);
    // Later packets are plain bypass: no second parse.
    EXPECT_EQ(prog_->run_steer(build_tcp_frame(segment(kAck, Bytes(100, 'z'), 600))).retval,
              static_cast<uint32_t>(TC_ACT_OK));
    EXPECT_EQ(prog_->counter(TG_CNT_SNI_VERIFIED), 1u);
    EXPECT_EQ(prog_->learned(f().server, 443)->verdict, TG_LEARNED_BYPASS_ONLY);
  }
}

TEST_P(VerifyFlow, OtherNameResetsBothEndsAndDemotesTheAddress) {
  for (const char* sni : {"evil.example", "pay.example", "bank.example.evil", "www.bank.example"}) {
    SCOPED_TRACE(sni);
    prog_ = std::make_unique<LoadedSteer>();
    prog_->add_sni("bank.example", TG_SNI_EXACT);
    prog_->add_sni("pay.example", TG_SNI_WILDCARD);
    prog_->put_learned(f().server, 443, TG_LEARNED_BYPASS_ONLY);
    open_flow();
    Bytes hello = hello_for(sni);
    Bytes data = build_tcp_frame(segment(kAck | kPsh, hello));
    ProgramRun out = prog_->run_steer(data);
    EXPECT_EQ(out.retval, static_cast<uint32_t>(TC_ACT_REDIRECT));
    // What goes back to the client: the server's RST at the client's rcv_nxt.
    auto rst = parse_tcp_frame(out.data_out);
    ASSERT_TRUE(rst);
    EXPECT_EQ(rst->src.to_string(), IpAddress::parse(f().server)->to_string());
    EXPECT_EQ(rst->dst.to_string(), IpAddress::parse(f().client)->to_string());
    EXPECT_EQ(rst->sport, 443);
    EXPECT_EQ(rst->dport, 40000);
    EXPECT_EQ(rst->flags, kRst);
    EXPECT_EQ(rst->seq, kServerIsn + 1);
    EXPECT_EQ(rst->payload_len, 0u);
    EXPECT_EQ(rst->dst_mac, kClientMac);
    EXPECT_TRUE(rst->tcp_checksum_ok);

    auto flow = prog_->flow(key());
    ASSERT_TRUE(flow);
    EXPECT_EQ(flow->state, TG_FLOW_RESET);
    EXPECT_EQ(flow->reason, TG_REASON_SNI_MISMATCH);
    auto learned = prog_->learned(f().server, 443);
    ASSERT_TRUE(learned);
    EXPECT_EQ(learned->verdict, TG_LEARNED_MIXED);
    EXPECT_EQ(prog_->counter(TG_CNT_SNI_RESETS), 1u);

    // The client's retry goes to the steering path.
    prog_->run_steer(
        build_tcp_frame({.src = f().client, .dst = f().server, .sport = 40001, .flags = kSyn}));
    EXPECT_EQ(prog_->flow(flow_key(f().client, 40001, f().server, 443))->reason,
              TG_REASON_NO_LISTENER);
  }
}

TEST_P(VerifyFlow, NoSniOrNotTlsResets) {
  const Bytes payloads[] = {hello_for(""), Bytes{'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P'}};
  for (const Bytes& payload : payloads) {
    prog_ = std::make_unique<LoadedSteer>();
    prog_->put_learned(f().server, 443, TG_LEARNED_BYPASS_ONLY);
    open_flow();
    EXPECT_EQ(prog_->run_steer(build_tcp_frame(segment(kAck | kPsh, payload))).retval,
              static_cast<uint32_t>(TC_ACT_REDIRECT));
    EXPECT_EQ(prog_->flow(key())->state, TG_FLOW_RESET);
  }
}

TEST_P(VerifyFlow, SniBeyondTheFirstSegmentGoesToUserspace) {
  open_flow();
  auto [first, second] = late_sni_hello("bank.example");
  Bytes data = build_tcp_frame(segment(kAck | kPsh, first));
  ProgramRun out = prog_->run_steer(data);
  EXPECT_EQ(out.retval, static_cast<uint32_t>(TC_ACT_OK));
  EXPECT_EQ(out.data_out, data);
  EXPECT_EQ(out.mark, kTestNfqMark);
  auto flow = prog_->flow(key());
  EXPECT_EQ(flow->state, TG_FLOW_NFQUEUE);
  EXPECT_EQ(flow->reason, TG_REASON_NFQUEUE);
  EXPECT_EQ(prog_->counter(TG_CNT_NFQUEUE_FLOWS), 1u);

  // The rest of the hello follows it into the queue; a pure ACK does not.
  EXPECT_EQ(prog_->run_steer(build_tcp_frame(segment(kAck, second, 1400))).mark, kTestNfqMark);
  EXPECT_EQ(prog_->run_steer(build_tcp_frame(segment(kAck))).mark, 0u);
  EXPECT_EQ(prog_->run_steer(build_tcp_frame(segment(kAck | kFin, {}, 5000))).mark, kTestNfqMark);
  EXPECT_EQ(prog_->counter(TG_CNT_NFQUEUE_PACKETS), 3u);
  EXPECT_EQ(prog_->counter(TG_CNT_NFQUEUE_FLOWS), 1u);
  EXPECT_EQ(prog_->learned(f().server, 443)->verdict, TG_LEARNED_BYPASS_ONLY);
}

TEST_P(VerifyFlow, SniInTheFirstSegmentOfALongHelloDecidesAtOnce) {
  open_flow();
  ClientHelloBuilder b;
  b.add(sni_extension("bank.example")).add(key_share_extension(0x11ec, 1216));
  b.add(padding_extension(400));
  Bytes record = as_record(b.message());
  record.resize(1400);
  ProgramRun out = prog_->run_steer(build_tcp_frame(segment(kAck | kPsh, record)));
  EXPECT_EQ(out.retval, static_cast<uint32_t>(TC_ACT_OK));
  EXPECT_EQ(out.mark, 0u);
  EXPECT_EQ(prog_->flow(key())->state, TG_FLOW_BYPASS);
}

TEST_P(VerifyFlow, ResetFlowKeepsAnsweringAndLetsRstsThrough) {
  open_flow();
  prog_->run_steer(build_tcp_frame(segment(kAck | kPsh, hello_for("evil.example"))));
  ASSERT_EQ(prog_->flow(key())->state, TG_FLOW_RESET);
  // The RST clone toward the server passes this program again.
  EXPECT_EQ(prog_->run_steer(build_tcp_frame(segment(kRst | kAck))).retval,
            static_cast<uint32_t>(TC_ACT_OK));
  EXPECT_FALSE(prog_->flow(key()));
}

INSTANTIATE_TEST_SUITE_P(Families, VerifyFlow, testing::Values(kV4, kV6),
                         [](const auto& test) { return std::string(test.param.name); });

}  // namespace
}  // namespace tlsgate::test
