// The steering program run on crafted packets with BPF_PROG_TEST_RUN: the
// decision on a SYN (table-driven), then how later packets follow it.
#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "frames.h"
#include "listener.h"
#include "netns.h"
#include "steer_object.h"

namespace tlsgate::test {
namespace {

struct SynCase {
  const char* name = "";
  std::string client{};
  std::string server{};
  uint16_t dport = 443;
  // setup
  bool listener = false;
  bool fail_closed = false;
  bool enabled = true;
  std::vector<std::string> client_bypass{};
  std::vector<std::string> dst_bypass{};
  // expectations
  uint32_t verdict = TC_ACT_OK;
  std::optional<uint8_t> state{};  // nullopt: no flow entry
  uint8_t reason = TG_REASON_NONE;
  std::vector<std::pair<tg_counter, uint64_t>> counters{};
  bool same_packet_out = true;
};

std::ostream& operator<<(std::ostream& os, const SynCase& c) {
  return os << c.name;
}

// Under BPF_PROG_TEST_RUN the skb is not at TC ingress (skb->tc_at_ingress
// is 0), so bpf_sk_assign() answers -EOPNOTSUPP: a SYN for which the
// listener *was found* ends up ASSIGN_FAILED (fail mode applies), unlike one
// with no listener (NO_LISTENER). The assignment itself is covered by
// SteeringEndToEnd, on real traffic.
const SynCase kSynCases[] = {
    {.name = "listener_v4",
     .client = "192.168.7.20",
     .server = "203.0.113.10",
     .listener = true,
     .state = TG_FLOW_FAIL_OPEN,
     .reason = TG_REASON_ASSIGN_FAILED,
     .counters = {{TG_CNT_SYN_SEEN, 1}, {TG_CNT_ASSIGN_ERRORS, 1}, {TG_CNT_NO_LISTENER, 0}}},
    {.name = "listener_v6",
     .client = "fd00:7::20",
     .server = "2001:db8::10",
     .listener = true,
     .state = TG_FLOW_FAIL_OPEN,
     .reason = TG_REASON_ASSIGN_FAILED,
     .counters = {{TG_CNT_SYN_SEEN, 1}, {TG_CNT_ASSIGN_ERRORS, 1}, {TG_CNT_NO_LISTENER, 0}}},
    {.name = "bypass_by_client_v4",
     .client = "192.168.7.20",
     .server = "203.0.113.10",
     .listener = true,
     .client_bypass = {"192.168.7.0/24"},
     .state = TG_FLOW_BYPASS,
     .reason = TG_REASON_CLIENT_BYPASS,
     .counters = {{TG_CNT_BYPASS_CLIENT, 1},
                  {TG_CNT_BYPASS_PACKETS, 1},
                  {TG_CNT_ASSIGN_ERRORS, 0}}},
    {.name = "bypass_by_client_v6",
     .client = "fd00:7::20",
     .server = "2001:db8::10",
     .listener = true,
     .client_bypass = {"fd00:7::/64"},
     .state = TG_FLOW_BYPASS,
     .reason = TG_REASON_CLIENT_BYPASS,
     .counters = {{TG_CNT_BYPASS_CLIENT, 1}, {TG_CNT_ASSIGN_ERRORS, 0}}},
    {.name = "client_outside_bypass_prefix_v4",
     .client = "192.168.8.20",
     .server = "203.0.113.10",
     .client_bypass = {"192.168.7.0/24", "192.168.8.21/32"},
     .state = TG_FLOW_FAIL_OPEN,
     .reason = TG_REASON_NO_LISTENER,
     .counters = {{TG_CNT_BYPASS_CLIENT, 0}, {TG_CNT_NO_LISTENER, 1}}},
    {.name = "bypass_by_destination_v4",
     .client = "192.168.7.20",
     .server = "198.51.100.7",
     .listener = true,
     .dst_bypass = {"198.51.100.0/24"},
     .state = TG_FLOW_BYPASS,
     .reason = TG_REASON_DST_BYPASS,
     .counters = {{TG_CNT_BYPASS_DST, 1}, {TG_CNT_BYPASS_PACKETS, 1}}},
    {.name = "bypass_by_destination_v6",
     .client = "fd00:7::20",
     .server = "2001:db8:5::7",
     .listener = true,
     .dst_bypass = {"2001:db8:5::/48"},
     .state = TG_FLOW_BYPASS,
     .reason = TG_REASON_DST_BYPASS,
     .counters = {{TG_CNT_BYPASS_DST, 1}}},
    {.name = "client_bypass_checked_before_destination",
     .client = "192.168.7.20",
     .server = "198.51.100.7",
     .client_bypass = {"192.168.7.20/32"},
     .dst_bypass = {"198.51.100.7/32"},
     .state = TG_FLOW_BYPASS,
     .reason = TG_REASON_CLIENT_BYPASS,
     .counters = {{TG_CNT_BYPASS_CLIENT, 1}, {TG_CNT_BYPASS_DST, 0}}},
    {.name = "fail_open_without_listener_v4",
     .client = "192.168.7.20",
     .server = "203.0.113.10",
     .state = TG_FLOW_FAIL_OPEN,
     .reason = TG_REASON_NO_LISTENER,
     .counters = {{TG_CNT_NO_LISTENER, 1}, {TG_CNT_FAIL_CLOSED_RESETS, 0}}},
    {.name = "fail_open_without_listener_v6",
     .client = "fd00:7::20",
     .server = "2001:db8::10",
     .state = TG_FLOW_FAIL_OPEN,
     .reason = TG_REASON_NO_LISTENER,
     .counters = {{TG_CNT_NO_LISTENER, 1}}},
    {.name = "fail_closed_without_listener_v4",
     .client = "192.168.7.20",
     .server = "203.0.113.10",
     .fail_closed = true,
     .verdict = TC_ACT_REDIRECT,
     .state = TG_FLOW_RESET,
     .reason = TG_REASON_NO_LISTENER,
     .counters = {{TG_CNT_NO_LISTENER, 1}, {TG_CNT_FAIL_CLOSED_RESETS, 1}},
     .same_packet_out = false},
    {.name = "fail_closed_without_listener_v6",
     .client = "fd00:7::20",
     .server = "2001:db8::10",
     .fail_closed = true,
     .verdict = TC_ACT_REDIRECT,
     .state = TG_FLOW_RESET,
     .reason = TG_REASON_NO_LISTENER,
     .counters = {{TG_CNT_FAIL_CLOSED_RESETS, 1}},
     .same_packet_out = false},
    {.name = "second_intercept_port",
     .client = "192.168.7.20",
     .server = "203.0.113.10",
     .dport = 8443,
     .state = TG_FLOW_FAIL_OPEN,
     .reason = TG_REASON_NO_LISTENER,
     .counters = {{TG_CNT_SYN_SEEN, 1}}},
    {.name = "other_port_untouched",
     .client = "192.168.7.20",
     .server = "203.0.113.10",
     .dport = 80,
     .listener = true,
     .fail_closed = true,
     .counters = {{TG_CNT_PACKETS, 0}, {TG_CNT_SYN_SEEN, 0}}},
    {.name = "other_port_untouched_v6",
     .client = "fd00:7::20",
     .server = "2001:db8::10",
     .dport = 22,
     .fail_closed = true,
     .counters = {{TG_CNT_PACKETS, 0}}},
    {.name = "disabled_passes_everything",
     .client = "192.168.7.20",
     .server = "203.0.113.10",
     .listener = true,
     .fail_closed = true,
     .enabled = false,
     .counters = {{TG_CNT_PACKETS, 0}, {TG_CNT_SYN_SEEN, 0}, {TG_CNT_FAIL_CLOSED_RESETS, 0}}},
};

class SteerSyn : public NetnsTest, public testing::WithParamInterface<SynCase> {};

TEST_P(SteerSyn, Decision) {
  const SynCase& c = GetParam();
  LoadedSteer prog;
  tg_gateway_config config = default_gateway_config();
  config.enabled = c.enabled ? 1 : 0;
  config.fail_closed = c.fail_closed ? 1 : 0;
  prog.configure(config);
  for (const auto& p : c.client_bypass) prog.add_client_bypass(p);
  for (const auto& p : c.dst_bypass) prog.add_dst_bypass(p);
  UniqueFd listener;
  if (c.listener) {
    listener = transparent_listener(c.client.find(':') == std::string::npos ? AF_INET : AF_INET6,
                                    kTestListenPort);
  }

  Bytes syn = build_tcp_frame(
      {.src = c.client, .dst = c.server, .dport = c.dport, .flags = kSyn, .tcp_option_words = 5});
  ProgramRun out = prog.run_steer(syn);

  EXPECT_EQ(out.retval, c.verdict);
  EXPECT_EQ(out.mark, 0u);  // only a successful bpf_sk_assign marks
  if (c.same_packet_out) {
    EXPECT_EQ(out.data_out, syn);
  }
  auto flow = prog.flow(flow_key(c.client, 40000, c.server, c.dport));
  ASSERT_EQ(flow.has_value(), c.state.has_value());
  if (flow) {
    EXPECT_EQ(flow->state, *c.state);
    EXPECT_EQ(flow->reason, c.reason);
    EXPECT_EQ(flow->packets, 1u);
    EXPECT_EQ(flow->bytes, syn.size());
    EXPECT_NE(flow->first_seen_ns, 0u);
  }
  for (const auto& [which, value] : c.counters) {
    EXPECT_EQ(prog.counter(which), value) << "counter " << which;
  }
}

INSTANTIATE_TEST_SUITE_P(Table, SteerSyn, testing::ValuesIn(kSynCases),
                         [](const auto& test) { return std::string(test.param.name); });

class SteerProgram : public NetnsTest {};

void expect_reset_for(const Bytes& syn, const ProgramRun& out) {
  auto in = parse_tcp_frame(syn);
  auto rst = parse_tcp_frame(out.data_out);
  ASSERT_TRUE(in && rst);
  EXPECT_EQ(rst->dst_mac, in->src_mac);
  EXPECT_EQ(rst->src_mac, in->dst_mac);
  EXPECT_EQ(rst->src, in->dst);
  EXPECT_EQ(rst->dst, in->src);
  EXPECT_EQ(rst->sport, in->dport);
  EXPECT_EQ(rst->dport, in->sport);
  EXPECT_EQ(rst->flags, kRst | kAck);
  EXPECT_EQ(rst->seq, 0u);
  EXPECT_EQ(rst->ack, in->seq + 1 + in->payload_len);
  EXPECT_EQ(rst->window, 0);
  EXPECT_EQ(rst->tcp_header_len, 20u);  // the SYN's options are not echoed
  EXPECT_EQ(rst->payload_len, 0u);
  EXPECT_EQ(rst->ttl, 64);
  EXPECT_TRUE(rst->tcp_checksum_ok);
  if (rst->src.is_v4()) {
    EXPECT_TRUE(rst->ip_checksum_ok);
  }
}

TEST_F(SteerProgram, FailClosedResetIsAWellFormedRstAck) {
  LoadedSteer prog;
  tg_gateway_config config = default_gateway_config();
  config.fail_closed = 1;
  prog.configure(config);
  for (const char* client : {"192.168.7.20", "fd00:7::20"}) {
    const char* server = client[0] == 'f' ? "2001:db8::10" : "203.0.113.10";
    Bytes syn = build_tcp_frame({.src = client,
                                 .dst = server,
                                 .sport = 51515,
                                 .flags = kSyn,
                                 .seq = 0xfffffff0,
                                 .tcp_option_words = 10});
    ProgramRun out = prog.run_steer(syn);
    ASSERT_EQ(out.retval, static_cast<uint32_t>(TC_ACT_REDIRECT)) << client;
    expect_reset_for(syn, out);
  }
}

TEST_F(SteerProgram, FailClosedResetAcknowledgesSynData) {
  LoadedSteer prog;
  tg_gateway_config config = default_gateway_config();
  config.fail_closed = 1;
  prog.configure(config);
  // A TCP Fast Open SYN carries data: the RST acknowledges it too.
  Bytes syn = build_tcp_frame(
      {.src = "192.168.7.20", .dst = "203.0.113.10", .flags = kSyn, .payload = Bytes(100, 'x')});
  ProgramRun out = prog.run_steer(syn);
  ASSERT_EQ(out.retval, static_cast<uint32_t>(TC_ACT_REDIRECT));
  expect_reset_for(syn, out);
}

TEST_F(SteerProgram, BypassedFlowIsFollowedAndForgottenOnReset) {
  LoadedSteer prog;
  prog.add_client_bypass("192.168.7.0/24");
  const TcpFrameSpec syn{.src = "192.168.7.20", .dst = "203.0.113.10", .flags = kSyn};
  TcpFrameSpec ack = syn;
  ack.flags = kAck;
  ack.payload = Bytes(300, 'd');
  TcpFrameSpec rst = syn;
  rst.flags = kRst;
  const tg_flow_key key = flow_key(syn.src, syn.sport, syn.dst, syn.dport);

  EXPECT_EQ(prog.run_steer(build_tcp_frame(syn)).retval, static_cast<uint32_t>(TC_ACT_OK));
  Bytes data = build_tcp_frame(ack);
  ProgramRun out = prog.run_steer(data);
  EXPECT_EQ(out.retval, static_cast<uint32_t>(TC_ACT_OK));
  EXPECT_EQ(out.data_out, data);
  auto flow = prog.flow(key);
  ASSERT_TRUE(flow);
  EXPECT_EQ(flow->state, TG_FLOW_BYPASS);
  EXPECT_EQ(flow->packets, 2u);
  EXPECT_EQ(flow->bytes, build_tcp_frame(syn).size() + data.size());
  EXPECT_GE(flow->last_seen_ns, flow->first_seen_ns);
  EXPECT_EQ(prog.counter(TG_CNT_BYPASS_PACKETS), 2u);

  EXPECT_EQ(prog.run_steer(build_tcp_frame(rst)).retval, static_cast<uint32_t>(TC_ACT_OK));
  EXPECT_FALSE(prog.flow(key));
}

TEST_F(SteerProgram, ResetFlowAnswersLaterPacketsWithRst) {
  LoadedSteer prog;
  tg_gateway_config config = default_gateway_config();
  config.fail_closed = 1;
  prog.configure(config);
  TcpFrameSpec syn{.src = "192.168.7.20", .dst = "203.0.113.10", .flags = kSyn};
  ASSERT_EQ(prog.run_steer(build_tcp_frame(syn)).retval, static_cast<uint32_t>(TC_ACT_REDIRECT));
  // As a closed port answers a segment with ACK: <SEQ=SEG.ACK><CTL=RST>.
  TcpFrameSpec ack = syn;
  ack.flags = kAck | kPsh;
  ack.ack = 0x12345678;
  ack.payload = Bytes(40, 'x');
  ProgramRun out = prog.run_steer(build_tcp_frame(ack));
  EXPECT_EQ(out.retval, static_cast<uint32_t>(TC_ACT_REDIRECT));
  auto rst = parse_tcp_frame(out.data_out);
  ASSERT_TRUE(rst);
  EXPECT_EQ(rst->flags, kRst);
  EXPECT_EQ(rst->seq, 0x12345678u);
  EXPECT_EQ(rst->src.to_string(), "203.0.113.10");
  EXPECT_TRUE(rst->tcp_checksum_ok);
  EXPECT_EQ(prog.counter(TG_CNT_RESET_REPLIES), 1u);
  // The client's own RST passes (and ends the entry).
  TcpFrameSpec client_rst = syn;
  client_rst.flags = kRst;
  EXPECT_EQ(prog.run_steer(build_tcp_frame(client_rst)).retval, static_cast<uint32_t>(TC_ACT_OK));
  EXPECT_FALSE(prog.flow(flow_key(syn.src, syn.sport, syn.dst, syn.dport)));
}

TEST_F(SteerProgram, SteeredFlowWithoutItsSocketPasses) {
  // The terminator restarted and lost the connection: its packets are left to
  // the router (the server will reset them), never black-holed.
  LoadedSteer prog;
  const tg_flow_key key = flow_key("192.168.7.20", 40000, "203.0.113.10", 443);
  tg_flow_value steered{};
  steered.state = TG_FLOW_STEER;
  steered.reason = TG_REASON_STEERED;
  steered.packets = 3;
  prog.put_flow(key, steered);
  ProgramRun out = prog.run_steer(
      build_tcp_frame({.src = "192.168.7.20", .dst = "203.0.113.10", .flags = kAck | kPsh}));
  EXPECT_EQ(out.retval, static_cast<uint32_t>(TC_ACT_OK));
  EXPECT_EQ(out.mark, 0u);
  EXPECT_EQ(prog.flow(key)->packets, 4u);
  EXPECT_EQ(prog.counter(TG_CNT_ASSIGN_ERRORS), 0u);
}

TEST_F(SteerProgram, UntrackedPacketWithoutSocketIsNotRecorded) {
  LoadedSteer prog;
  ProgramRun out = prog.run_steer(
      build_tcp_frame({.src = "192.168.7.20", .dst = "203.0.113.10", .flags = kAck}));
  EXPECT_EQ(out.retval, static_cast<uint32_t>(TC_ACT_OK));
  EXPECT_FALSE(prog.flow(flow_key("192.168.7.20", 40000, "203.0.113.10", 443)));
  EXPECT_EQ(prog.counter(TG_CNT_PACKETS), 1u);
}

TEST_F(SteerProgram, SynAckIsNotASynDecision) {
  LoadedSteer prog;
  prog.run_steer(
      build_tcp_frame({.src = "192.168.7.20", .dst = "203.0.113.10", .flags = kSyn | kAck}));
  EXPECT_EQ(prog.counter(TG_CNT_SYN_SEEN), 0u);
  EXPECT_FALSE(prog.flow(flow_key("192.168.7.20", 40000, "203.0.113.10", 443)));
}

TEST_F(SteerProgram, FirstFragmentToInterceptPortIsDropped) {
  LoadedSteer prog;
  ProgramRun out = prog.run_steer(build_tcp_frame(
      {.src = "192.168.7.20", .dst = "203.0.113.10", .flags = kSyn, .ipv4_more_fragments = true}));
  EXPECT_EQ(out.retval, static_cast<uint32_t>(TC_ACT_SHOT));
  EXPECT_EQ(prog.counter(TG_CNT_FRAGMENTS_DROPPED), 1u);
}

// A connection the local stack owns (here 127.0.0.1 -> 127.0.0.2:443): a
// packet of it that the flow table does not know is handed to that socket.
TEST_F(SteerProgram, UntrackedPacketOfALocalConnectionIsSteered) {
  LoadedSteer prog;
  UniqueFd server(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(443);
  inet_pton(AF_INET, "127.0.0.2", &sa.sin_addr);
  ASSERT_EQ(bind(server.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  ASSERT_EQ(listen(server.get(), 4), 0);
  UniqueFd client(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(connect(client.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  sockaddr_in local{};
  socklen_t len = sizeof(local);
  ASSERT_EQ(getsockname(client.get(), reinterpret_cast<sockaddr*>(&local), &len), 0);

  TcpFrameSpec ack{
      .src = "127.0.0.1", .dst = "127.0.0.2", .sport = ntohs(local.sin_port), .flags = kAck};
  prog.run_steer(build_tcp_frame(ack));
  // Found: the assignment was attempted (and refused under TEST_RUN, see above).
  EXPECT_EQ(prog.counter(TG_CNT_ASSIGN_ERRORS), 1u);

  ack.sport = static_cast<uint16_t>(ack.sport + 1);  // no such connection; only the listener
  prog.run_steer(build_tcp_frame(ack));
  EXPECT_EQ(prog.counter(TG_CNT_ASSIGN_ERRORS), 1u);
}

}  // namespace
}  // namespace tlsgate::test
