// bench: the TC steering program's cost per packet (DESIGN.md §2), the
// program every packet from the LAN meets: BPF_PROG_TEST_RUN repeat=N on
// the real object, with the maps set up as the daemon would (gateway
// config, a destination bypass, one tracked flow per case).
#include "steer_packet_cost.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../tests/kernel/frames.h"
#include "tlsgate_abi.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include "steer.skel.h"
#pragma GCC diagnostic pop

namespace tlsgate::bench {
namespace {

namespace t = tlsgate::test;

constexpr uint32_t kRepeat = 200000;
constexpr const char* kClient = "192.168.7.20";
constexpr const char* kServer = "203.0.113.10";
constexpr const char* kBypassedServer = "198.51.100.7";

tg_flow_key key_of(const char* src, uint16_t sport, const char* dst, uint16_t dport) {
  tg_flow_key key{};
  inet_pton(AF_INET, src, key.saddr);
  inet_pton(AF_INET, dst, key.daddr);
  key.sport = htons(sport);
  key.dport = htons(dport);
  key.family = AF_INET;  // as the program writes it (tlsgate_abi.h)
  return key;
}

bool configure(steer* skel) {
  tg_gateway_config config{};
  config.enabled = 1;
  config.steer_mark = 0x746c;
  config.listen_port = 15443;
  config.n_intercept_ports = 1;
  config.intercept_ports[0] = 443;
  config.nfq_mark = 0x746d;
  config.quic_block = 1;
  config.learned_ttl_s = 600;
  __u32 zero = 0;
  if (bpf_map__update_elem(skel->maps.gateway_config, &zero, sizeof zero, &config, sizeof config,
                           BPF_ANY) != 0) {
    return false;
  }
  tg_lpm_v4_key lpm{};
  lpm.prefixlen = 32;
  inet_pton(AF_INET, kBypassedServer, lpm.addr);
  tg_lpm_value rule{0};
  return bpf_map__update_elem(skel->maps.dst_bypass_v4, &lpm, sizeof lpm, &rule, sizeof rule,
                              BPF_ANY) == 0;
}

bool track(steer* skel, const tg_flow_key& key, uint8_t state) {
  tg_flow_value value{};
  value.state = state;
  return bpf_map__update_elem(skel->maps.flows, &key, sizeof key, &value, sizeof value, BPF_ANY) ==
         0;
}

struct Case {
  std::string name;
  t::Bytes frame;
};

}  // namespace

bool print_steer_packet_costs(steer* skel) {
  if (!configure(skel)) {
    std::fprintf(stderr, "steer: cannot configure the maps\n");
    return false;
  }
  const t::Bytes payload(1400, 0x17);  // a full-size TLS application-data segment
  std::vector<Case> cases;
  cases.push_back(
      {"other port (tcp/80), not intercepted",
       t::build_tcp_frame(
           {.src = kClient, .dst = kServer, .dport = 80, .flags = t::kAck, .payload = payload})});
  // Established flows: the flow table decides every packet after the SYN.
  track(skel, key_of(kClient, 41000, kBypassedServer, 443), TG_FLOW_BYPASS);
  cases.push_back(
      {"data, bypassed flow (flow table hit)", t::build_tcp_frame({.src = kClient,
                                                                   .dst = kBypassedServer,
                                                                   .sport = 41000,
                                                                   .flags = t::kAck,
                                                                   .payload = payload})});
  track(skel, key_of(kClient, 41001, kServer, 443), TG_FLOW_STEER);
  cases.push_back({"data, steered flow (socket lookup)", t::build_tcp_frame({.src = kClient,
                                                                             .dst = kServer,
                                                                             .sport = 41001,
                                                                             .flags = t::kAck,
                                                                             .payload = payload})});
  cases.push_back(
      {"SYN, destination bypass (LPM hit)", t::build_tcp_frame({.src = kClient,
                                                                .dst = kBypassedServer,
                                                                .sport = 41002,
                                                                .flags = t::kSyn,
                                                                .tcp_option_words = 5})});
  cases.push_back(
      {"SYN, to steer (no listener: fail open)", t::build_tcp_frame({.src = kClient,
                                                                     .dst = kServer,
                                                                     .sport = 41003,
                                                                     .flags = t::kSyn,
                                                                     .tcp_option_words = 5})});

  const int prog = bpf_program__fd(skel->progs.steer);
  std::printf("%-42s %6s %14s\n", "steering program, packet", "bytes", "BPF ns/packet");
  for (const Case& c : cases) {
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = c.frame.data();
    opts.data_size_in = static_cast<__u32>(c.frame.size());
    opts.repeat = kRepeat;
    if (bpf_prog_test_run_opts(prog, &opts) != 0) {
      std::fprintf(stderr, "BPF_PROG_TEST_RUN steer: %s\n", std::strerror(errno));
      return false;
    }
    std::printf("%-42s %6zu %14u\n", c.name.c_str(), c.frame.size(), opts.duration);
  }
  return true;
}

}  // namespace tlsgate::bench
