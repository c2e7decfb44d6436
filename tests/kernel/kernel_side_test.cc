// KernelSide in a private network namespace with a veth pair: what install,
// apply_rules, remove and remove_leftovers leave in the kernel, checked with
// the administrator's tools (ip, tc) and the pinned maps.
#include <bpf/bpf.h>
#include <linux/pkt_cls.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "frames.h"
#include "kernel/kernel_side.h"
#include "netns.h"

namespace tlsgate::test {
namespace {

using kernel::KernelSide;
using kernel::KernelSideOptions;

const char* const kPinned[] = {
    "flows",       "client_bypass_v4", "client_bypass_v6", "dst_bypass_v4", "dst_bypass_v6",
    "learned",     "sni_policy",       "gateway_config",   "counters",      "hello_scratch",
    "sni_scratch", "hello_verdicts",   "hello_results",    "steer",         "hello_probe"};

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

class KernelSideTest : public NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped()) return;
    run("ip link add tgk-lan0 type veth peer name tgk-lan1");
    run("ip link set tgk-lan0 up");
    run("ip link set tgk-lan1 up");
    options_.lan_interfaces = {"tgk-lan0"};
    options_.pin_dir = "/sys/fs/bpf/tgk-" + std::to_string(getpid());
    options_.intercept_ports = {443, 8443};
    std::filesystem::remove_all(options_.pin_dir);
  }

  void TearDown() override {
    if (!IsSkipped()) KernelSide::remove_leftovers(options_);
  }

  UniqueFd pinned(const std::string& name) const {
    return UniqueFd(bpf_obj_get((options_.pin_dir / name).c_str()));
  }

  void expect_installed() const {
    for (const char* name : kPinned) {
      EXPECT_TRUE(std::filesystem::exists(options_.pin_dir / name)) << name;
    }
    std::string filters = run("tc filter show dev tgk-lan0 ingress");
    EXPECT_EQ(occurrences(filters, "handle 0x746c"), 1u) << filters;
    EXPECT_NE(filters.find("steer"), std::string::npos) << filters;
    EXPECT_EQ(occurrences(run("ip -4 rule show"), "fwmark 0x746c lookup 29804"), 1u);
    EXPECT_EQ(occurrences(run("ip -6 rule show"), "fwmark 0x746c lookup 29804"), 1u);
    EXPECT_EQ(occurrences(run("ip -4 route show table 29804"), "local default dev lo"), 1u);
    EXPECT_EQ(occurrences(run("ip -6 route show table 29804"), "local default dev lo"), 1u);
    for (const char* tool : {"iptables-nft", "ip6tables-nft"}) {
      std::string rules = run(std::string(tool) + " -t filter -S FORWARD");
      EXPECT_EQ(occurrences(rules, "--mark 0x746d -j NFQUEUE --queue-num 29804 --queue-bypass"), 1u)
          << rules;
    }
  }

  void expect_removed() const {
    EXPECT_FALSE(std::filesystem::exists(options_.pin_dir));
    EXPECT_EQ(run("tc filter show dev tgk-lan0 ingress"), "");
    EXPECT_EQ(run("tc qdisc show dev tgk-lan0").find("clsact"), std::string::npos);
    EXPECT_EQ(run("ip -4 rule show").find("0x746c"), std::string::npos);
    EXPECT_EQ(run("ip -6 rule show").find("0x746c"), std::string::npos);
    EXPECT_EQ(run("ip -4 route show table all").find("table 29804"), std::string::npos);
    EXPECT_EQ(run("ip -6 route show table all").find("table 29804"), std::string::npos);
    for (const char* tool : {"iptables-nft", "ip6tables-nft"}) {
      EXPECT_EQ(run(std::string(tool) + " -t filter -S").find("NFQUEUE"), std::string::npos);
    }
  }

  KernelSideOptions options_;
};

TEST_F(KernelSideTest, InstallPinsAttachesAndRoutes) {
  auto side = KernelSide::install(options_);
  expect_installed();

  UniqueFd config_fd = pinned("gateway_config");
  ASSERT_TRUE(config_fd);
  tg_gateway_config config{};
  __u32 zero = 0;
  ASSERT_EQ(bpf_map_lookup_elem(config_fd.get(), &zero, &config), 0);
  EXPECT_EQ(config.enabled, 1u);
  EXPECT_EQ(config.steer_mark, options_.steer_mark);
  EXPECT_EQ(config.listen_port, options_.listen_port);
  EXPECT_EQ(config.fail_closed, 0u);
  ASSERT_EQ(config.n_intercept_ports, 2);
  EXPECT_EQ(config.intercept_ports[0], 443);
  EXPECT_EQ(config.intercept_ports[1], 8443);
  EXPECT_EQ(config.nfq_mark, options_.nfqueue_mark);
  EXPECT_EQ(config.quic_block, 1u);
  EXPECT_EQ(config.learned_ttl_s, 600u);
  EXPECT_NE(side->splicer(), nullptr) << side->splice_error();
}

std::set<std::pair<std::string, __u32>> trie_contents(int fd, size_t addr_len) {
  std::set<std::pair<std::string, __u32>> out;
  std::vector<uint8_t> key(4 + addr_len), next(4 + addr_len);
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
    tg_lpm_value value{};
    EXPECT_EQ(bpf_map_lookup_elem(fd, next.data(), &value), 0);
    __u32 prefixlen;
    std::memcpy(&prefixlen, next.data(), 4);
    std::array<uint8_t, 16> bytes{};
    std::copy_n(next.begin() + 4, addr_len, bytes.begin());
    IpAddress addr = addr_len == 4
                         ? IpAddress::v4(*reinterpret_cast<const in_addr*>(bytes.data()))
                         : IpAddress::v6(*reinterpret_cast<const in6_addr*>(bytes.data()));
    out.emplace(addr.to_string() + "/" + std::to_string(prefixlen), value.rule_index);
    key = next;
    prev = key.data();
  }
  return out;
}

policy::KernelRules rules_of(std::vector<std::pair<std::string, size_t>> client,
                             std::vector<std::pair<std::string, size_t>> dst) {
  policy::KernelRules rules;
  for (auto& [cidr, index] : client)
    rules.client_bypass.push_back({Cidr::parse(cidr).value(), index});
  for (auto& [cidr, index] : dst) rules.dst_bypass.push_back({Cidr::parse(cidr).value(), index});
  return rules;
}

TEST_F(KernelSideTest, ApplyRulesMakesTheTriesEqualToTheRules) {
  auto side = KernelSide::install(options_);
  side->apply_rules(rules_of({{"10.1.0.0/16", 0}, {"fd00:1::/64", 1}, {"10.2.3.4/32", 2}},
                             {{"198.51.100.0/24", 3}, {"2001:db8:5::/48", 4}}));
  using Contents = std::set<std::pair<std::string, __u32>>;
  EXPECT_EQ(trie_contents(pinned("client_bypass_v4").get(), 4),
            (Contents{{"10.1.0.0/16", 0}, {"10.2.3.4/32", 2}}));
  EXPECT_EQ(trie_contents(pinned("client_bypass_v6").get(), 16), (Contents{{"fd00:1::/64", 1}}));
  EXPECT_EQ(trie_contents(pinned("dst_bypass_v4").get(), 4), (Contents{{"198.51.100.0/24", 3}}));
  EXPECT_EQ(trie_contents(pinned("dst_bypass_v6").get(), 16), (Contents{{"2001:db8:5::/48", 4}}));

  // A policy change: stale prefixes go, new ones come, changed indexes follow.
  side->apply_rules(rules_of({{"10.2.3.4/32", 0}, {"192.168.9.0/24", 1}}, {}));
  EXPECT_EQ(trie_contents(pinned("client_bypass_v4").get(), 4),
            (Contents{{"10.2.3.4/32", 0}, {"192.168.9.0/24", 1}}));
  EXPECT_TRUE(trie_contents(pinned("client_bypass_v6").get(), 16).empty());
  EXPECT_TRUE(trie_contents(pinned("dst_bypass_v4").get(), 4).empty());
  EXPECT_TRUE(trie_contents(pinned("dst_bypass_v6").get(), 16).empty());
}

std::map<std::string, __u32> sni_policy_contents(int fd) {
  std::map<std::string, __u32> out;
  tg_sni_key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    tg_sni_value value{};
    EXPECT_EQ(bpf_map_lookup_elem(fd, &next, &value), 0);
    out[std::string(next.name, strnlen(next.name, sizeof next.name))] = value.flags;
    key = next;
    prev = &key;
  }
  return out;
}

TEST_F(KernelSideTest, ApplyRulesSyncsTheNamesAndForgetsLearnedAddresses) {
  auto side = KernelSide::install(options_);
  policy::KernelRules rules;
  rules.sni_bypass = {
      {"bank.example", false, 0}, {"bank.example", true, 0}, {"pay.example", true, 1}};
  side->apply_rules(rules);
  using Names = std::map<std::string, __u32>;
  EXPECT_EQ(
      sni_policy_contents(pinned("sni_policy").get()),
      (Names{{"bank.example", TG_SNI_EXACT | TG_SNI_WILDCARD}, {"pay.example", TG_SNI_WILDCARD}}));

  const Endpoint bank{*IpAddress::parse("192.0.2.10"), 443};
  const Endpoint shop{*IpAddress::parse("2001:db8::20"), 443};
  side->learn_bypass_only(bank);
  side->learn_mixed(shop);
  EXPECT_EQ(side->learned_verdict(bank), TG_LEARNED_BYPASS_ONLY);
  EXPECT_EQ(side->learned_verdict(shop), TG_LEARNED_MIXED);
  side->learn_bypass_only(shop);  // MIXED holds for its lifetime
  EXPECT_EQ(side->learned_verdict(shop), TG_LEARNED_MIXED);
  side->learn_mixed(bank);
  EXPECT_EQ(side->learned_verdict(bank), TG_LEARNED_MIXED);
  EXPECT_EQ(side->learned_verdict({bank.address, 8443}), 0u);

  rules.sni_bypass = {{"shop.example", false, 0}};
  side->apply_rules(rules);
  EXPECT_EQ(sni_policy_contents(pinned("sni_policy").get()),
            (Names{{"shop.example", TG_SNI_EXACT}}));
  EXPECT_EQ(side->learned_verdict(bank), 0u);
  EXPECT_EQ(side->learned_verdict(shop), 0u);
}

TEST_F(KernelSideTest, CountersSumWhatTheProgramCounted) {
  auto side = KernelSide::install(options_);
  EXPECT_EQ(side->counters().value[TG_CNT_SYN_SEEN], 0u);
  UniqueFd prog = pinned("steer");
  ASSERT_TRUE(prog);
  Bytes syn = build_tcp_frame({.src = "192.168.7.20", .dst = "203.0.113.10", .flags = kSyn});
  for (int i = 0; i < 3; ++i) {
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = syn.data();
    opts.data_size_in = static_cast<__u32>(syn.size());
    opts.repeat = 1;
    ASSERT_EQ(bpf_prog_test_run_opts(prog.get(), &opts), 0);
    EXPECT_EQ(opts.retval, static_cast<__u32>(TC_ACT_OK));
  }
  kernel::KernelCounters counters = side->counters();
  EXPECT_EQ(counters.value[TG_CNT_PACKETS], 3u);
  EXPECT_EQ(counters.value[TG_CNT_SYN_SEEN], 3u);
  EXPECT_EQ(counters.value[TG_CNT_NO_LISTENER], 3u);
  EXPECT_EQ(counters.value[TG_CNT_STEERED_FLOWS], 0u);
}

TEST_F(KernelSideTest, RemoveTakesEverythingAway) {
  auto side = KernelSide::install(options_);
  side->remove();
  expect_removed();
  side->remove();  // idempotent
  expect_removed();
}

TEST_F(KernelSideTest, RemoveLeavesOtherFiltersAndTheirQdisc) {
  run("tc qdisc add dev tgk-lan0 clsact");
  run("tc filter add dev tgk-lan0 ingress pref 7 u32 match u32 0 0");
  auto side = KernelSide::install(options_);
  expect_installed();
  side->remove();
  std::string filters = run("tc filter show dev tgk-lan0 ingress");
  EXPECT_EQ(filters.find("0x746c"), std::string::npos) << filters;
  EXPECT_NE(filters.find("u32"), std::string::npos) << filters;
  EXPECT_NE(run("tc qdisc show dev tgk-lan0").find("clsact"), std::string::npos);
}

TEST_F(KernelSideTest, RestartReusesThePinnedFlowTable) {
  tg_flow_key key{};
  key.family = AF_INET;
  key.saddr[0] = htonl(0xc0a80714);
  key.daddr[0] = htonl(0xcb00710a);
  key.sport = htons(40000);
  key.dport = htons(443);
  tg_flow_value value{};
  value.state = TG_FLOW_BYPASS;
  value.reason = TG_REASON_CLIENT_BYPASS;
  value.packets = 42;

  bpf_map_info first_info{};
  {
    auto first = KernelSide::install(options_);
    UniqueFd flows = pinned("flows");
    ASSERT_EQ(bpf_map_update_elem(flows.get(), &key, &value, BPF_ANY), 0);
    __u32 len = sizeof(first_info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(flows.get(), &first_info, &len), 0);
  }  // the daemon exits without remove(): everything stays

  auto second = KernelSide::install(options_);
  expect_installed();  // one filter, one rule, one route: replaced, not duplicated
  UniqueFd flows = pinned("flows");
  bpf_map_info second_info{};
  __u32 len = sizeof(second_info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(flows.get(), &second_info, &len), 0);
  EXPECT_EQ(second_info.id, first_info.id);
  tg_flow_value kept{};
  ASSERT_EQ(bpf_map_lookup_elem(flows.get(), &key, &kept), 0);
  EXPECT_EQ(kept.packets, 42u);
  EXPECT_EQ(kept.state, TG_FLOW_BYPASS);
}

TEST_F(KernelSideTest, RemoveLeftoversAfterACrash) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The daemon: installs, then dies without cleaning up.
    try {
      auto side = KernelSide::install(options_);
      _exit(0);
    } catch (...) {
      _exit(1);
    }
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  expect_installed();  // a crash leaves the kernel side in place (fail mode)

  KernelSide::remove_leftovers(options_);
  expect_removed();
  KernelSide::remove_leftovers(options_);  // idempotent
  expect_removed();
}

TEST_F(KernelSideTest, MissingInterfaceIsReportedAndNothingInstalled) {
  options_.lan_interfaces = {"tgk-lan0", "tgk-nope"};
  try {
    KernelSide::install(options_);
    FAIL() << "install succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "attach tc ingress on tgk-nope: No such device");
  }
  options_.lan_interfaces = {"tgk-lan0"};
  expect_removed();
}

TEST_F(KernelSideTest, FailureHalfWayIsRolledBack) {
  // With lo down the local route cannot be added: by then the object is
  // loaded, pinned, and the IPv4 rule exists; all of it must go again.
  run("ip link set lo down");
  try {
    KernelSide::install(options_);
    FAIL() << "install succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("add local route"), std::string::npos) << e.what();
  }
  run("ip link set lo up");
  expect_removed();
}

}  // namespace
}  // namespace tlsgate::test
