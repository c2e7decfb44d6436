// bench: the kernel's ClientHello classification (DESIGN.md §2) per
// ClientHello, in ns — the hello_probe program (the very code the steering
// program runs on a BYPASS_VERIFY flow's first payload: packet parse, record
// and ClientHello parse, sni_policy lookups, verdict) run with
// BPF_PROG_TEST_RUN repeat=N, which reports the mean run time. The userspace
// classifier (nfqueue::classify_first_segment) on the same bytes, for
// comparison; then the steering program on every kind of packet
// (steer_packet_cost.cc). Root only. Not a test: no threshold, figures for
// the record.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../tests/kernel/frames.h"
#include "../tests/unit/parser/client_hello_fixtures.h"
#include "kernel/sni_policy_sync.h"
#include "nfqueue/hello_classifier.h"
#include "policy/kernel_rule_compiler.h"
#include "steer_packet_cost.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include "steer.skel.h"
#pragma GCC diagnostic pop

namespace {

using tlsgate::test::Bytes;
namespace t = tlsgate::test;

constexpr uint32_t kRepeat = 200000;

struct Case {
  std::string name;
  Bytes payload;  // the first TCP segment's payload
};

std::vector<Case> cases() {
  std::vector<Case> out;
  out.push_back(
      {"openssl_tls13_exact_match", t::openssl_client_flight({"bank.example", {"h2"}, 0, 0})});
  out.push_back(
      {"browser_like_wildcard_match", t::as_record(t::browser_like("www.pay.example").message())});
  out.push_back(
      {"browser_like_no_match", t::as_record(t::browser_like("www.other.example").message())});
  {
    t::ClientHelloBuilder b;
    b.add(t::opaque_extension(t::kGrease1, 0))
        .add(t::sni_extension("mail.pay.example"))
        .add(t::alpn_extension({"h2", "http/1.1"}))
        .add(t::supported_versions_extension({t::kGrease2, 0x0304}))
        .add(t::key_share_extension(0x11ec, 1216))
        .add(t::padding_extension(300));
    Bytes record = t::as_record(b.message());
    record.resize(1400);  // first segment of a 1.8 KB post-quantum hello, SNI in it
    out.push_back({"pq_1400_first_segment_sni_in_it", record});
  }
  {
    t::ClientHelloBuilder b;
    b.add(t::opaque_extension(t::kGrease1, 0))
        .add(t::key_share_extension(0x11ec, 1216))
        .add(t::padding_extension(300))
        .add(t::sni_extension("mail.pay.example"));
    Bytes record = t::as_record(b.message());
    record.resize(1400);  // SNI in the second segment: verdict USERSPACE
    out.push_back({"pq_1400_first_segment_sni_later", record});
  }
  {
    std::string name;
    for (int i = 0; i < 40; ++i) name += "abcd.";
    name += "other.example";  // 213 bytes, 42 labels: every suffix looked up
    out.push_back({"long_name_42_labels_no_match", t::as_record(t::browser_like(name).message())});
  }
  out.push_back(
      {"not_tls", Bytes{'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1'}});
  return out;
}

}  // namespace

int main() {
  if (geteuid() != 0) {
    std::fprintf(stderr, "bench_bpf_classifier: needs root (BPF_PROG_TEST_RUN)\n");
    return 77;
  }
  steer* skel = steer__open_and_load();
  if (skel == nullptr) {
    std::fprintf(stderr, "load steer: %s\n", std::strerror(errno));
    return 1;
  }
  // The bypassed names: exact and wildcard, as the compiler makes them.
  std::vector<tlsgate::policy::KernelSniEntry> names{
      {"bank.example", false, 0}, {"pay.example", true, 0}, {"b.c.example", true, 0}};
  tlsgate::kernel::sync_sni_policy(bpf_map__fd(skel->maps.sni_policy), names);
  const tlsgate::policy::SniBypassSet set(names);
  int prog = bpf_program__fd(skel->progs.hello_probe);

  std::printf("%-34s %6s %10s %14s %14s\n", "ClientHello (first segment)", "bytes", "verdict",
              "BPF ns/hello", "userspace ns");
  for (const Case& c : cases()) {
    Bytes frame = t::build_tcp_frame({.src = "192.168.7.20",
                                      .dst = "203.0.113.10",
                                      .flags = t::kAck | t::kPsh,
                                      .payload = c.payload});
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<__u32>(frame.size());
    opts.repeat = kRepeat;
    if (bpf_prog_test_run_opts(prog, &opts) != 0) {
      std::fprintf(stderr, "BPF_PROG_TEST_RUN: %s\n", std::strerror(errno));
      return 1;
    }
    const auto start = std::chrono::steady_clock::now();
    uint32_t verdict = 0;
    constexpr int kUserRuns = 20000;
    for (int i = 0; i < kUserRuns; ++i) {
      verdict = tlsgate::nfqueue::classify_first_segment(c.payload, set).verdict;
    }
    const double user_ns = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                   std::chrono::steady_clock::now() - start)
                                                   .count()) /
                           kUserRuns;
    const char* verdicts[] = {"?", "PASS", "RESET", "USERSPACE"};
    std::printf("%-34s %6zu %10s %14u %14.0f\n", c.name.c_str(), c.payload.size(),
                verdicts[verdict < 4 ? verdict : 0], opts.duration, user_ns);
  }
  std::printf("\n");
  const bool steer_ok = tlsgate::bench::print_steer_packet_costs(skel);
  steer__destroy(skel);
  return steer_ok ? 0 : 1;
}
