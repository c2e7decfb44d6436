#include "kernel/kernel_side.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <utility>

#include "kernel/bpf_pins.h"
#include "kernel/learned_addresses.h"
#include "kernel/lpm_sync.h"
#include "kernel/nfqueue_rule.h"
#include "kernel/route_steering.h"
#include "kernel/sni_policy_sync.h"
#include "kernel/tc_ingress.h"

// The generated skeleton is C; it is not held to this project's warnings.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include "steer.skel.h"
#pragma GCC diagnostic pop

namespace tlsgate::kernel {

namespace {

struct SkeletonDeleter {
  void operator()(steer* skel) const { steer__destroy(skel); }
};
using SteerSkeleton = std::unique_ptr<steer, SkeletonDeleter>;

[[noreturn]] void fail(const std::string& step, int err) {
  throw std::runtime_error(step + ": " + std::strerror(err));
}

SteerSkeleton open_skeleton() {
  SteerSkeleton skel(steer__open());
  if (!skel) fail("open BPF object", errno);
  return skel;
}

// Undo actions of a partly done install, run in reverse unless committed.
class Rollback {
 public:
  Rollback() = default;
  Rollback(const Rollback&) = delete;
  Rollback& operator=(const Rollback&) = delete;
  ~Rollback() {
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
      try {
        (*it)();
      } catch (const std::exception&) {
        // Best effort: the error that started the rollback is the one reported.
      }
    }
  }
  void add(std::function<void()> undo) { undo_.push_back(std::move(undo)); }
  void commit() { undo_.clear(); }

 private:
  std::vector<std::function<void()>> undo_;
};

// Names of everything the object pins: its maps and programs.
std::vector<std::string> pinned_names(const steer& skel) {
  std::vector<std::string> names;
  bpf_map* map;
  bpf_object__for_each_map(map, skel.obj) {
    if (!bpf_map__is_internal(map)) names.emplace_back(bpf_map__name(map));
  }
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel.obj) names.emplace_back(bpf_program__name(prog));
  return names;
}

void validate(const KernelSideOptions& options) {
  if (options.lan_interfaces.empty()) throw std::runtime_error("no LAN interface given");
  if (options.intercept_ports.empty() || options.intercept_ports.size() > TG_MAX_INTERCEPT_PORTS) {
    throw std::runtime_error("between 1 and " + std::to_string(TG_MAX_INTERCEPT_PORTS) +
                             " intercept ports are supported");
  }
  if (options.listen_port == 0) throw std::runtime_error("listen port 0");
  if (options.nfqueue_mark == 0 || options.nfqueue_mark == options.steer_mark) {
    throw std::runtime_error("the NFQUEUE mark must be non-zero and differ from the steer mark");
  }
  for (const auto& ifname : options.lan_interfaces) {
    if (if_nametoindex(ifname.c_str()) == 0) {
      throw std::runtime_error("attach tc ingress on " + ifname + ": " + std::strerror(ENODEV));
    }
  }
}

tg_gateway_config make_gateway_config(const KernelSideOptions& options) {
  tg_gateway_config config{};
  config.enabled = 1;
  config.steer_mark = options.steer_mark;
  config.fail_closed = options.fail_closed ? 1 : 0;
  config.listen_port = options.listen_port;
  config.n_intercept_ports = static_cast<__u16>(options.intercept_ports.size());
  for (size_t i = 0; i < options.intercept_ports.size(); ++i) {
    config.intercept_ports[i] = options.intercept_ports[i];
  }
  config.nfq_mark = options.nfqueue_mark;
  config.quic_block = options.quic_block ? 1 : 0;
  config.learned_ttl_s = static_cast<__u32>(options.learned_ttl.count());
  return config;
}

NfqueueRuleSpec nfqueue_spec(const KernelSideOptions& options) {
  return {options.nfqueue_mark, options.nfqueue_num, !options.fail_closed};
}

SteeringRouteSpec route_spec(const KernelSideOptions& options) {
  return {options.steer_mark, options.route_table, options.rule_priority};
}

}  // namespace

struct KernelSide::Impl {
  KernelSideOptions options;
  SteerSkeleton skel;
  std::unique_ptr<SockmapSplicer> splicer;
  std::string splice_error;
  bool removed = false;
  bool adopted_pins = false;
};

KernelSide::KernelSide(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KernelSide::~KernelSide() = default;

std::unique_ptr<KernelSide> KernelSide::install(const KernelSideOptions& options) {
  validate(options);
  Rollback rollback;
  const auto& pin_dir = options.pin_dir;
  if (prepare_pin_dir(pin_dir)) rollback.add([pin_dir] { rmdir(pin_dir.c_str()); });

  // Maps are pinned by path: libbpf reuses a pinned map on load (the flow
  // table survives a restart) and pins the others after creating them.
  SteerSkeleton skel = open_skeleton();
  bool adopted_pins = false;
  bpf_map* map;
  bpf_object__for_each_map(map, skel->obj) {
    if (bpf_map__is_internal(map)) continue;
    std::filesystem::path path = pin_dir / bpf_map__name(map);
    drop_incompatible_pin(map, path);
    bool existed = access(path.c_str(), F_OK) == 0;
    adopted_pins |= existed;
    if (int err = bpf_map__set_pin_path(map, path.c_str()); err != 0) fail("set pin path", -err);
    if (!existed) rollback.add([path] { unlink(path.c_str()); });
  }
  if (int err = steer__load(skel.get()); err != 0) fail("load BPF object", -err);

  tg_gateway_config config = make_gateway_config(options);
  __u32 zero = 0;
  if (bpf_map__update_elem(skel->maps.gateway_config, &zero, sizeof(zero), &config, sizeof(config),
                           BPF_ANY) != 0) {
    fail("write gateway_config", errno);
  }

  bpf_program* prog;
  bpf_object__for_each_program(prog, skel->obj) {
    std::filesystem::path path = pin_dir / bpf_program__name(prog);
    unlink(path.c_str());  // a previous run's program: replaced
    if (int err = bpf_program__pin(prog, path.c_str()); err != 0) fail("pin program", -err);
    rollback.add([path] { unlink(path.c_str()); });
  }

  // Routing before attaching: a packet marked by the program must never
  // find no local route.
  SteeringRouteSpec spec = route_spec(options);
  SteeringRoutesAdded added = add_steering_routes(spec);
  rollback.add([spec, added] { delete_steering_routes(spec, &added); });
  // Also before attaching: a queued packet without the rule would pass
  // unclassified.
  // What a running predecessor (a hand-over) installed stays if this
  // install fails: that process still serves through it.
  NfqueueRuleSpec queue_spec = nfqueue_spec(options);
  const bool queue_rule_existed = nfqueue_rule_present(queue_spec, AF_INET);
  add_nfqueue_rules(queue_spec);
  if (!queue_rule_existed) rollback.add([queue_spec] { delete_nfqueue_rules(queue_spec); });

  int prog_fd = bpf_program__fd(skel->progs.steer);
  for (const auto& ifname : options.lan_interfaces) {
    const bool attached_before = tc_ingress_attached(ifname);
    attach_tc_ingress(ifname, prog_fd);  // replaces a previous run's filter in place
    if (!attached_before) rollback.add([ifname] { detach_tc_ingress(ifname); });
  }

  rollback.commit();
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->skel = std::move(skel);
  impl->adopted_pins = adopted_pins;
  if (options.kernel_splice) {
    try {
      impl->splicer = SockmapSplicer::load();
    } catch (const std::exception& e) {
      impl->splice_error = e.what();  // bypassed flows are copied in userspace
    }
  } else {
    impl->splice_error = "disabled";
  }
  return std::unique_ptr<KernelSide>(new KernelSide(std::move(impl)));
}

void KernelSide::apply_rules(const policy::KernelRules& rules) {
  const auto& maps = impl_->skel->maps;
  sync_lpm_trie(bpf_map__fd(maps.client_bypass_v4), bpf_map__name(maps.client_bypass_v4), AF_INET,
                rules.client_bypass);
  sync_lpm_trie(bpf_map__fd(maps.client_bypass_v6), bpf_map__name(maps.client_bypass_v6), AF_INET6,
                rules.client_bypass);
  sync_lpm_trie(bpf_map__fd(maps.dst_bypass_v4), bpf_map__name(maps.dst_bypass_v4), AF_INET,
                rules.dst_bypass);
  sync_lpm_trie(bpf_map__fd(maps.dst_bypass_v6), bpf_map__name(maps.dst_bypass_v6), AF_INET6,
                rules.dst_bypass);
  if (sync_sni_policy(bpf_map__fd(maps.sni_policy), rules.sni_bypass)) {
    clear_learned(bpf_map__fd(maps.learned));
  }
}

void KernelSide::learn_bypass_only(const Endpoint& server) {
  learn_address(bpf_map__fd(impl_->skel->maps.learned), server, TG_LEARNED_BYPASS_ONLY,
                impl_->options.learned_ttl);
}

void KernelSide::learn_mixed(const Endpoint& server) {
  learn_address(bpf_map__fd(impl_->skel->maps.learned), server, TG_LEARNED_MIXED,
                impl_->options.learned_ttl);
}

uint32_t KernelSide::learned_verdict(const Endpoint& server) const {
  auto entry = learned_entry(bpf_map__fd(impl_->skel->maps.learned), server);
  return entry ? entry->verdict : 0;
}

void KernelSide::set_flow_state(const tg_flow_key& key, tg_flow_state state,
                                tg_flow_reason reason) {
  int fd = bpf_map__fd(impl_->skel->maps.flows);
  tg_flow_value value{};
  if (bpf_map_lookup_elem(fd, &key, &value) != 0) {
    value.first_seen_ns = monotonic_ns();  // evicted meanwhile: recreated
  }
  value.last_seen_ns = monotonic_ns();
  value.state = static_cast<__u8>(state);
  value.reason = static_cast<__u8>(reason);
  if (bpf_map_update_elem(fd, &key, &value, BPF_ANY) != 0) fail("update flows", errno);
}

std::optional<tg_flow_value> KernelSide::flow(const tg_flow_key& key) const {
  tg_flow_value value{};
  if (bpf_map_lookup_elem(bpf_map__fd(impl_->skel->maps.flows), &key, &value) != 0) {
    return std::nullopt;
  }
  return value;
}

bool KernelSide::adopted_pins() const {
  return impl_->adopted_pins;
}

const KernelSideOptions& KernelSide::options() const {
  return impl_->options;
}

int KernelSide::decisions_fd() const {
  return bpf_map__fd(impl_->skel->maps.decisions);
}

SockmapSplicer* KernelSide::splicer() const {
  return impl_->splicer.get();
}

const std::string& KernelSide::splice_error() const {
  return impl_->splice_error;
}

KernelCounters KernelSide::counters() const {
  KernelCounters result;
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) fail("count possible CPUs", -cpus);
  std::vector<__u64> per_cpu(static_cast<size_t>(cpus));
  for (__u32 i = 0; i < TG_CNT_MAX; ++i) {
    if (bpf_map__lookup_elem(impl_->skel->maps.counters, &i, sizeof(i), per_cpu.data(),
                             per_cpu.size() * sizeof(__u64), 0) != 0) {
      fail("read counters", errno);
    }
    for (__u64 v : per_cpu) result.value[i] += v;
  }
  return result;
}

void KernelSide::remove() {
  if (impl_->removed) return;
  // Detach first: no packet gets marked once the route is gone.
  for (const auto& ifname : impl_->options.lan_interfaces) detach_tc_ingress(ifname);
  delete_steering_routes(route_spec(impl_->options));
  delete_nfqueue_rules(nfqueue_spec(impl_->options));
  remove_pins(impl_->options.pin_dir, pinned_names(*impl_->skel));
  impl_->removed = true;
}

void KernelSide::remove_leftovers(const KernelSideOptions& options) {
  for (const auto& ifname : options.lan_interfaces) detach_tc_ingress(ifname);
  delete_steering_routes(route_spec(options));
  delete_nfqueue_rules(nfqueue_spec(options));
  SteerSkeleton skel = open_skeleton();  // for the names only: nothing is loaded
  remove_pins(options.pin_dir, pinned_names(*skel));
}

}  // namespace tlsgate::kernel
