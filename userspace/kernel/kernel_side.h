// The one owner of tlsgate's kernel side (DESIGN.md §2, STYLE.md "katran"):
// loads the BPF object through its skeleton, pins programs and maps under the
// pin directory, attaches the TC ingress program to the LAN interfaces,
// installs the policy-routing rule that delivers steered packets locally and
// the xtables rule that queues marked packets to the NFQUEUE classifier,
// writes the policy maps, records what the terminator learned about server
// addresses and userspace's verdicts on queued flows, and owns the sockmap
// relay for bypassed flows. Nothing else in userspace touches BPF maps.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "kernel/sockmap_splicer.h"
#include "policy/kernel_rule_compiler.h"
#include "tlsgate_abi.h"

namespace tlsgate::kernel {

struct KernelSideOptions {
  std::vector<std::string> lan_interfaces;
  std::filesystem::path pin_dir = "/sys/fs/bpf/tlsgate";
  uint32_t steer_mark = 0x746c;
  uint32_t route_table = 0x746c;
  // Priority of the "fwmark steer_mark lookup route_table" rule: ahead of
  // other policy rules (multi-WAN, VPN) that would forward the packet instead.
  uint32_t rule_priority = 100;
  uint16_t listen_port = 15443;
  std::vector<uint16_t> intercept_ports{443};
  bool fail_closed = false;
  // skb->mark of packets the TC program hands to userspace, and the NFQUEUE
  // queue the xtables rule sends them to.
  uint32_t nfqueue_mark = 0x746d;
  uint16_t nfqueue_num = 0x746c;
  bool quic_block = true;  // refuse UDP to intercept ports (ICMP port unreachable)
  // Lifetime of a `learned` entry (written by the terminator or, demoting
  // on an SNI mismatch, by the kernel).
  std::chrono::seconds learned_ttl{600};
  // Load the sockmap relay for bypassed flows (splice.bpf.c).
  bool kernel_splice = true;
};

struct KernelCounters {
  std::array<uint64_t, TG_CNT_MAX> value{};  // summed over CPUs, by enum tg_counter
};

class KernelSide {
 public:
  // Installs everything; on any failure rolls back what it installed and
  // throws std::runtime_error naming the step and the errno text.
  static std::unique_ptr<KernelSide> install(const KernelSideOptions& options);
  // Detaches nothing: a crash, a plain exit or a process that handed over to
  // its successor leaves the kernel side in place (fail_mode without one).
  ~KernelSide();
  KernelSide(const KernelSide&) = delete;
  KernelSide& operator=(const KernelSide&) = delete;

  // Replaces the client/destination bypass tries and the bypassed names with
  // `rules` (one call per policy change; entries not in `rules` are deleted).
  // When the bypassed names changed it forgets the `learned` addresses: they
  // were learned under the old names (a name no longer bypassed must not cost
  // its next client a reset). A restart with the same names keeps them, so
  // new flows to those servers stay in the kernel across the restart.
  void apply_rules(const policy::KernelRules& rules);

  KernelCounters counters() const;
  const KernelSideOptions& options() const;

  // What the terminator learned about `server` (address and port): only
  // bypassed names, each proven to be served there (the kernel then forwards
  // new flows itself and checks their SNI) / an inspected or blocked name
  // too. A MIXED entry is not turned back before it expires.
  void learn_bypass_only(const Endpoint& server);
  void learn_mixed(const Endpoint& server);
  // The live `learned` verdict for `server` (TG_LEARNED_*), 0 when none.
  uint32_t learned_verdict(const Endpoint& server) const;

  // Userspace's verdict on a flow the kernel handed to NFQUEUE.
  void set_flow_state(const tg_flow_key& key, tg_flow_state state, tg_flow_reason reason);
  std::optional<tg_flow_value> flow(const tg_flow_key& key) const;

  // The `decisions` ring (struct tg_decision), for a DecisionReader; valid
  // as long as this object.
  int decisions_fd() const;

  // The kernel relay for bypassed flows, or null when the kernel refused it
  // (splice_error() says why; the terminator then copies in userspace).
  SockmapSplicer* splicer() const;
  const std::string& splice_error() const;

  // Detaches the TC programs, deletes the routing rule/route, unpins and
  // removes the pin directory. Idempotent.
  void remove();

  // Whether the pinned maps were already there at install (left by a
  // previous run: a restart, a hand-over or a crash).
  bool adopted_pins() const;

  // Removes a kernel side left behind by a crashed daemon (pinned objects,
  // TC filters, routing rule) given the same options. Idempotent.
  static void remove_leftovers(const KernelSideOptions& options);

 private:
  struct Impl;
  explicit KernelSide(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tlsgate::kernel
