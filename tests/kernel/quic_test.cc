// QUIC (DESIGN.md §2): UDP to an intercept port from a client subject to
// inspection is refused with ICMP / ICMPv6 port unreachable, sent back out of
// the LAN interface; `quic = "allow"`, bypassed clients and destinations, and
// other ports pass untouched.
#include <linux/pkt_cls.h>

#include <gtest/gtest.h>

#include "frames.h"
#include "netns.h"
#include "steer_object.h"

namespace tlsgate::test {
namespace {

struct Family {
  const char* name;
  const char* client;
  const char* server;
  const char* client_prefix;
  const char* server_prefix;
};

const Family kV4{"IPv4", "192.168.7.20", "203.0.113.10", "192.168.7.0/24", "203.0.113.0/24"};
const Family kV6{"IPv6", "fd00:7::20", "2001:db8::10", "fd00:7::/64", "2001:db8::/64"};

class Quic : public NetnsTest, public testing::WithParamInterface<Family> {};

Bytes initial(const Family& f, uint16_t dport = 443) {
  return build_udp_frame({.src = f.client,
                          .dst = f.server,
                          .sport = 51000,
                          .dport = dport,
                          .payload = Bytes(1200, 0xc3)});
}

TEST_P(Quic, RefusedWithPortUnreachable) {
  const Family& f = GetParam();
  LoadedSteer prog;
  ProgramRun out = prog.run_steer(initial(f));
  ASSERT_EQ(out.retval, static_cast<uint32_t>(TC_ACT_REDIRECT));
  auto icmp = parse_icmp_error(out.data_out);
  ASSERT_TRUE(icmp);
  const bool v4 = f.name[3] == '4';
  EXPECT_EQ(icmp->type, v4 ? 3 : 1);
  EXPECT_EQ(icmp->code, v4 ? 3 : 4);
  EXPECT_EQ(icmp->src, *IpAddress::parse(f.server));
  EXPECT_EQ(icmp->dst, *IpAddress::parse(f.client));
  EXPECT_EQ(icmp->quoted_src, *IpAddress::parse(f.client));
  EXPECT_EQ(icmp->quoted_dst, *IpAddress::parse(f.server));
  EXPECT_EQ(icmp->quoted_protocol, 17);
  EXPECT_EQ(icmp->quoted_sport, 51000);
  EXPECT_EQ(icmp->quoted_dport, 443);
  EXPECT_EQ(icmp->dst_mac, kClientMac);
  EXPECT_EQ(icmp->src_mac, kRouterMac);
  EXPECT_TRUE(icmp->icmp_checksum_ok);
  if (v4) {
    EXPECT_TRUE(icmp->ip_checksum_ok);
  }
  EXPECT_EQ(prog.counter(TG_CNT_QUIC_REFUSED), 1u);
  EXPECT_EQ(prog.counter(TG_CNT_PACKETS), 0u);  // TCP counters untouched
}

TEST_P(Quic, SmallDatagramIsRefusedToo) {
  const Family& f = GetParam();
  LoadedSteer prog;
  ProgramRun out =
      prog.run_steer(build_udp_frame({.src = f.client, .dst = f.server, .payload = {1}}));
  ASSERT_EQ(out.retval, static_cast<uint32_t>(TC_ACT_REDIRECT));
  EXPECT_TRUE(parse_icmp_error(out.data_out));
}

TEST_P(Quic, AllowedWhenConfigured) {
  const Family& f = GetParam();
  LoadedSteer prog;
  tg_gateway_config config = default_gateway_config();
  config.quic_block = 0;
  prog.configure(config);
  Bytes datagram = initial(f);
  ProgramRun out = prog.run_steer(datagram);
  EXPECT_EQ(out.retval, static_cast<uint32_t>(TC_ACT_OK));
  EXPECT_EQ(out.data_out, datagram);
  EXPECT_EQ(prog.counter(TG_CNT_QUIC_REFUSED), 0u);
}

TEST_P(Quic, BypassedClientsAndDestinationsKeepQuic) {
  const Family& f = GetParam();
  {
    LoadedSteer prog;
    prog.add_client_bypass(f.client_prefix);
    EXPECT_EQ(prog.run_steer(initial(f)).retval, static_cast<uint32_t>(TC_ACT_OK));
  }
  {
    LoadedSteer prog;
    prog.add_dst_bypass(f.server_prefix);
    EXPECT_EQ(prog.run_steer(initial(f)).retval, static_cast<uint32_t>(TC_ACT_OK));
    EXPECT_EQ(prog.counter(TG_CNT_QUIC_REFUSED), 0u);
  }
}

TEST_P(Quic, OtherPortsPass) {
  const Family& f = GetParam();
  LoadedSteer prog;
  Bytes dns = initial(f, 53);
  ProgramRun out = prog.run_steer(dns);
  EXPECT_EQ(out.retval, static_cast<uint32_t>(TC_ACT_OK));
  EXPECT_EQ(out.data_out, dns);
  // 8443 is an intercept port too.
  EXPECT_EQ(prog.run_steer(initial(f, 8443)).retval, static_cast<uint32_t>(TC_ACT_REDIRECT));
}

INSTANTIATE_TEST_SUITE_P(Families, Quic, testing::Values(kV4, kV6),
                         [](const auto& test) { return std::string(test.param.name); });

}  // namespace
}  // namespace tlsgate::test
