// The one owner of tlsgate's kernel side (DESIGN.md §2, STYLE.md "katran"):
// loads the BPF object through its skeleton, pins programs and maps under the
// pin directory, attaches the TC ingress program to the LAN interfaces,
// installs the policy-routing rule that delivers steered packets locally, and
// writes the policy maps. Nothing else in userspace touches BPF maps.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

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
};

struct KernelCounters {
  std::array<uint64_t, TG_CNT_MAX> value{};  // summed over CPUs, by enum tg_counter
};

class KernelSide {
 public:
  // Installs everything; on any failure rolls back what it installed and
  // throws std::runtime_error naming the step and the errno text.
  static std::unique_ptr<KernelSide> install(const KernelSideOptions& options);
  ~KernelSide();  // detaches nothing: a crash or plain exit leaves fail_mode
  KernelSide(const KernelSide&) = delete;
  KernelSide& operator=(const KernelSide&) = delete;

  // Replaces the client/destination bypass tries with `rules` (one call per
  // policy change; entries not in `rules` are deleted).
  void apply_rules(const policy::KernelRules& rules);

  KernelCounters counters() const;

  // Detaches the TC programs, deletes the routing rule/route, unpins and
  // removes the pin directory. Idempotent.
  void remove();

  // Removes a kernel side left behind by a crashed daemon (pinned objects,
  // TC filters, routing rule) given the same options. Idempotent.
  static void remove_leftovers(const KernelSideOptions& options);

 private:
  struct Impl;
  explicit KernelSide(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tlsgate::kernel
