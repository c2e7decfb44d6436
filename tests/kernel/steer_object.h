// The real steering object (the build's skeleton), loaded unpinned for
// BPF_PROG_TEST_RUN, with typed access to its maps.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "frames.h"
#include "parse_clienthello.h"
#include "tlsgate_abi.h"

struct steer;

namespace tlsgate::test {

inline constexpr uint32_t kTestMark = 0x746c;
inline constexpr uint16_t kTestListenPort = 15443;
inline constexpr uint32_t kTestNfqMark = 0x746d;

tg_gateway_config default_gateway_config();  // enabled, fail open, ports 443 and 8443, QUIC blocked

tg_flow_key flow_key(const std::string& src, uint16_t sport, const std::string& dst,
                     uint16_t dport);

struct ProgramRun {
  uint32_t retval = 0;
  uint32_t mark = 0;  // skb->mark after the run
  Bytes data_out;
};

class LoadedSteer {
 public:
  LoadedSteer();
  ~LoadedSteer();
  LoadedSteer(const LoadedSteer&) = delete;
  LoadedSteer& operator=(const LoadedSteer&) = delete;

  void configure(const tg_gateway_config& config);
  ProgramRun run_steer(std::span<const uint8_t> frame);
  ProgramRun run_hello_probe(std::span<const uint8_t> frame);

  std::optional<tg_flow_value> flow(const tg_flow_key& key) const;
  void put_flow(const tg_flow_key& key, const tg_flow_value& value);
  uint64_t counter(tg_counter which) const;  // summed over CPUs
  void add_client_bypass(const std::string& cidr);
  void add_dst_bypass(const std::string& cidr);
  // hello_results / hello_verdicts of the CPU the test thread is pinned to.
  tg_hello_info hello_result() const;
  uint32_t hello_verdict() const;

  // sni_policy: `name` with TG_SNI_EXACT / TG_SNI_WILDCARD flags.
  void add_sni(const std::string& name, uint32_t flags);
  // learned: `server` ("addr", port) with a verdict that expires `ttl_ns`
  // from now (negative: already expired).
  void put_learned(const std::string& server, uint16_t port, tg_learned_verdict verdict,
                   int64_t ttl_ns = 60'000'000'000);
  std::optional<tg_learned_value> learned(const std::string& server, uint16_t port) const;
  int steer_fd() const;
  int sni_policy_fd() const;
  int decisions_fd() const;  // the `decisions` ring
  int hello_probe_fd() const;

 private:
  ProgramRun run(int prog_fd, std::span<const uint8_t> frame);
  void add_lpm(bool client, const std::string& cidr);
  steer* skel_ = nullptr;
  int cpu_ = 0;
};

}  // namespace tlsgate::test
