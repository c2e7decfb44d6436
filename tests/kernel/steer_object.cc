#include "steer_object.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include "steer.skel.h"
#pragma GCC diagnostic pop

namespace tlsgate::test {

tg_gateway_config default_gateway_config() {
  tg_gateway_config config{};
  config.enabled = 1;
  config.steer_mark = kTestMark;
  config.fail_closed = 0;
  config.listen_port = kTestListenPort;
  config.n_intercept_ports = 2;
  config.intercept_ports[0] = 443;
  config.intercept_ports[1] = 8443;
  config.nfq_mark = kTestNfqMark;
  config.quic_block = 1;
  config.learned_ttl_s = 600;
  return config;
}

tg_flow_key flow_key(const std::string& src, uint16_t sport, const std::string& dst,
                     uint16_t dport) {
  IpAddress s = IpAddress::parse(src).value();
  IpAddress d = IpAddress::parse(dst).value();
  tg_flow_key key{};
  std::memcpy(key.saddr, s.bytes().data(), s.size());
  std::memcpy(key.daddr, d.bytes().data(), d.size());
  key.sport = htons(sport);
  key.dport = htons(dport);
  key.family = static_cast<__u8>(s.family());
  return key;
}

LoadedSteer::LoadedSteer() {
  // Per-CPU results are read from the CPU the runs happen on.
  cpu_ = sched_getcpu();
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu_, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) throw std::runtime_error("sched_setaffinity");
  skel_ = steer__open_and_load();
  if (skel_ == nullptr)
    throw std::runtime_error(std::string("load steer: ") + std::strerror(errno));
  configure(default_gateway_config());
}

LoadedSteer::~LoadedSteer() {
  steer__destroy(skel_);
}

void LoadedSteer::configure(const tg_gateway_config& config) {
  __u32 zero = 0;
  if (bpf_map__update_elem(skel_->maps.gateway_config, &zero, sizeof(zero), &config, sizeof(config),
                           BPF_ANY) != 0) {
    throw std::runtime_error("write gateway_config");
  }
}

ProgramRun LoadedSteer::run(int prog_fd, std::span<const uint8_t> frame) {
  ProgramRun result;
  result.data_out.resize(frame.size() + 256);
  __sk_buff ctx_in{}, ctx_out{};
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = frame.data();
  opts.data_size_in = static_cast<__u32>(frame.size());
  opts.data_out = result.data_out.data();
  opts.data_size_out = static_cast<__u32>(result.data_out.size());
  opts.ctx_in = &ctx_in;
  opts.ctx_size_in = sizeof(ctx_in);
  opts.ctx_out = &ctx_out;
  opts.ctx_size_out = sizeof(ctx_out);
  opts.repeat = 1;
  if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
    throw std::runtime_error(std::string("BPF_PROG_TEST_RUN: ") + std::strerror(errno));
  }
  result.retval = opts.retval;
  result.mark = ctx_out.mark;
  result.data_out.resize(opts.data_size_out);
  return result;
}

ProgramRun LoadedSteer::run_steer(std::span<const uint8_t> frame) {
  return run(bpf_program__fd(skel_->progs.steer), frame);
}

ProgramRun LoadedSteer::run_hello_probe(std::span<const uint8_t> frame) {
  return run(bpf_program__fd(skel_->progs.hello_probe), frame);
}

std::optional<tg_flow_value> LoadedSteer::flow(const tg_flow_key& key) const {
  tg_flow_value value{};
  if (bpf_map__lookup_elem(skel_->maps.flows, &key, sizeof(key), &value, sizeof(value), 0) != 0) {
    return std::nullopt;
  }
  return value;
}

void LoadedSteer::put_flow(const tg_flow_key& key, const tg_flow_value& value) {
  if (bpf_map__update_elem(skel_->maps.flows, &key, sizeof(key), &value, sizeof(value), BPF_ANY)) {
    throw std::runtime_error("put flow");
  }
}

uint64_t LoadedSteer::counter(tg_counter which) const {
  std::vector<__u64> per_cpu(static_cast<size_t>(libbpf_num_possible_cpus()));
  __u32 key = which;
  if (bpf_map__lookup_elem(skel_->maps.counters, &key, sizeof(key), per_cpu.data(),
                           per_cpu.size() * sizeof(__u64), 0) != 0) {
    throw std::runtime_error("read counter");
  }
  uint64_t sum = 0;
  for (__u64 v : per_cpu) sum += v;
  return sum;
}

void LoadedSteer::add_lpm(bool client, const std::string& text) {
  Cidr cidr = Cidr::parse(text).value();
  tg_lpm_value value{7};
  bpf_map* map;
  int err;
  if (cidr.network().is_v4()) {
    tg_lpm_v4_key key{};
    key.prefixlen = cidr.prefix_len();
    std::memcpy(key.addr, cidr.network().bytes().data(), 4);
    map = client ? skel_->maps.client_bypass_v4 : skel_->maps.dst_bypass_v4;
    err = bpf_map__update_elem(map, &key, sizeof(key), &value, sizeof(value), BPF_ANY);
  } else {
    tg_lpm_v6_key key{};
    key.prefixlen = cidr.prefix_len();
    std::memcpy(key.addr, cidr.network().bytes().data(), 16);
    map = client ? skel_->maps.client_bypass_v6 : skel_->maps.dst_bypass_v6;
    err = bpf_map__update_elem(map, &key, sizeof(key), &value, sizeof(value), BPF_ANY);
  }
  if (err != 0) throw std::runtime_error("add LPM entry " + text);
}

void LoadedSteer::add_client_bypass(const std::string& cidr) {
  add_lpm(true, cidr);
}
void LoadedSteer::add_dst_bypass(const std::string& cidr) {
  add_lpm(false, cidr);
}

tg_hello_info LoadedSteer::hello_result() const {
  // Per-CPU values are laid out at 8-byte strides.
  const size_t stride = (sizeof(tg_hello_info) + 7) & ~size_t{7};
  std::vector<uint8_t> per_cpu(static_cast<size_t>(libbpf_num_possible_cpus()) * stride);
  __u32 zero = 0;
  if (bpf_map__lookup_elem(skel_->maps.hello_results, &zero, sizeof(zero), per_cpu.data(),
                           per_cpu.size(), 0) != 0) {
    throw std::runtime_error("read hello_results");
  }
  tg_hello_info info{};
  std::memcpy(&info, per_cpu.data() + static_cast<size_t>(cpu_) * stride, sizeof(info));
  return info;
}

uint32_t LoadedSteer::hello_verdict() const {
  std::vector<__u32> per_cpu(static_cast<size_t>(libbpf_num_possible_cpus()) * 2);
  __u32 zero = 0;
  // Per-CPU values are laid out at 8-byte strides.
  if (bpf_map__lookup_elem(skel_->maps.hello_verdicts, &zero, sizeof(zero), per_cpu.data(),
                           per_cpu.size() * sizeof(__u32), 0) != 0) {
    throw std::runtime_error("read hello_verdicts");
  }
  return per_cpu[static_cast<size_t>(cpu_) * 2];
}

void LoadedSteer::add_sni(const std::string& name, uint32_t flags) {
  tg_sni_key key{};
  std::memcpy(key.name, name.data(), name.size());
  tg_sni_value value{flags, 3};
  if (bpf_map__update_elem(skel_->maps.sni_policy, &key, sizeof(key), &value, sizeof(value),
                           BPF_ANY) != 0) {
    throw std::runtime_error("add sni_policy " + name);
  }
}

namespace {

tg_learned_key learned_key_of(const std::string& server, uint16_t port) {
  IpAddress a = IpAddress::parse(server).value();
  tg_learned_key key{};
  std::memcpy(key.addr, a.bytes().data(), a.size());
  key.port = htons(port);
  key.family = static_cast<__u8>(a.family());
  return key;
}

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

void LoadedSteer::put_learned(const std::string& server, uint16_t port, tg_learned_verdict verdict,
                              int64_t ttl_ns) {
  tg_learned_key key = learned_key_of(server, port);
  tg_learned_value value{};
  value.verdict = verdict;
  value.expires_ns = static_cast<uint64_t>(static_cast<int64_t>(now_ns()) + ttl_ns);
  if (bpf_map__update_elem(skel_->maps.learned, &key, sizeof(key), &value, sizeof(value),
                           BPF_ANY) != 0) {
    throw std::runtime_error("put learned " + server);
  }
}

std::optional<tg_learned_value> LoadedSteer::learned(const std::string& server,
                                                     uint16_t port) const {
  tg_learned_key key = learned_key_of(server, port);
  tg_learned_value value{};
  if (bpf_map__lookup_elem(skel_->maps.learned, &key, sizeof(key), &value, sizeof(value), 0) != 0) {
    return std::nullopt;
  }
  return value;
}

int LoadedSteer::steer_fd() const {
  return bpf_program__fd(skel_->progs.steer);
}

int LoadedSteer::sni_policy_fd() const {
  return bpf_map__fd(skel_->maps.sni_policy);
}

int LoadedSteer::decisions_fd() const {
  return bpf_map__fd(skel_->maps.decisions);
}

int LoadedSteer::hello_probe_fd() const {
  return bpf_program__fd(skel_->progs.hello_probe);
}

}  // namespace tlsgate::test
