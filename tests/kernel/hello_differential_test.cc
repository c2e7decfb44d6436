// The differential test of DESIGN.md §2/§9: 10,000+ generated ClientHellos
// (hello_corpus.h) go through the BPF program (hello_probe, and the real
// steering program on a BYPASS_VERIFY flow) and through the userspace
// classifier (nfqueue/hello_classifier.h) with the same compiled bypass
// names; both must give identical verdicts, parse status and SNI. A first
// segment the kernel hands to userspace is then finished by QueuedHello, and
// for well-formed hellos the end result must be what the policy says.
#include <linux/pkt_cls.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "frames.h"
#include "hello_corpus.h"
#include "kernel/sni_policy_sync.h"
#include "netns.h"
#include "nfqueue/hello_classifier.h"
#include "policy/kernel_rule_compiler.h"
#include "policy/sni_bypass_set.h"
#include "steer_object.h"

namespace tlsgate::test {
namespace {

constexpr size_t kCorpusSize = 10'000;

policy::KernelRules compiled_policy() {
  policy::RuleSet rules;
  policy::Rule bypass;
  bypass.name = "bypass-names";
  bypass.action = policy::Action::bypass;
  for (const auto& p : corpus_bypass_patterns()) {
    std::string error;
    bypass.sni.push_back(*policy::SniPattern::parse(p, &error));
  }
  policy::Rule block;
  block.name = "tracker";
  block.action = policy::Action::block;
  block.sni.push_back(*policy::SniPattern::parse("tracker.example", nullptr));
  rules.rules = {block, bypass};
  const uint16_t port = 443;
  return policy::compile_kernel_rules(rules, std::span<const uint16_t>(&port, 1));
}

std::string normalized(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

const char* verdict_name(uint32_t v) {
  switch (v) {
    case TG_VERDICT_PASS:
      return "PASS";
    case TG_VERDICT_RESET:
      return "RESET";
    case TG_VERDICT_USERSPACE:
      return "USERSPACE";
  }
  return "?";
}

class HelloDifferential : public NetnsTest {};

TEST_F(HelloDifferential, KernelAndUserspaceGiveIdenticalVerdicts) {
  LoadedSteer prog;
  const policy::KernelRules kernel_rules = compiled_policy();
  ASSERT_EQ(kernel_rules.sni_bypass.size(), corpus_bypass_patterns().size());
  kernel::sync_sni_policy(prog.sni_policy_fd(), kernel_rules.sni_bypass);
  const policy::SniBypassSet names(kernel_rules.sni_bypass);

  const auto corpus = generate_hello_corpus(0x746c6400, kCorpusSize);
  size_t counts[4] = {};
  size_t queued_decided = 0, well_formed = 0, split = 0;

  for (size_t i = 0; i < corpus.size(); ++i) {
    const HelloCase& c = corpus[i];
    SCOPED_TRACE("case " + std::to_string(i) + ": " + c.what);
    const bool v6 = i % 2 == 1;
    const char* client = v6 ? "fd00:7::20" : "192.168.7.20";
    const char* server = v6 ? "2001:db8::10" : "203.0.113.10";
    const auto sport = static_cast<uint16_t>(1024 + i % 60000);
    Bytes frame = build_tcp_frame({.src = client,
                                   .dst = server,
                                   .sport = sport,
                                   .flags = kAck | kPsh,
                                   .seq = 1001,
                                   .ack = 5001,
                                   .payload = c.segments[0]});

    // Kernel: the classification alone ...
    prog.run_hello_probe(frame);
    const uint32_t kernel_verdict = prog.hello_verdict();
    const tg_hello_info kernel_info = prog.hello_result();
    // ... userspace: the same bytes.
    const nfqueue::HelloDecision user = nfqueue::classify_first_segment(c.segments[0], names);
    ASSERT_EQ(kernel_verdict, user.verdict) << "kernel " << verdict_name(kernel_verdict)
                                            << ", userspace " << verdict_name(user.verdict);
    ASSERT_EQ(kernel_info.status, user.info.status);
    ASSERT_EQ(kernel_info.has_sni, user.info.has_sni);
    ASSERT_EQ(std::string(kernel_info.sni, kernel_info.sni_len),
              std::string(user.info.sni, user.info.sni_len));
    ++counts[kernel_verdict];

    // The steering program acts on it.
    const tg_flow_key key = flow_key(client, sport, server, 443);
    tg_flow_value verify{};
    verify.state = TG_FLOW_BYPASS_VERIFY;
    verify.reason = TG_REASON_LEARNED_BYPASS;
    prog.put_flow(key, verify);
    ProgramRun run = prog.run_steer(frame);
    const uint8_t state = prog.flow(key)->state;
    switch (kernel_verdict) {
      case TG_VERDICT_PASS:
        ASSERT_EQ(run.retval, static_cast<uint32_t>(TC_ACT_OK));
        ASSERT_EQ(state, TG_FLOW_BYPASS);
        break;
      case TG_VERDICT_RESET:
        ASSERT_EQ(run.retval, static_cast<uint32_t>(TC_ACT_REDIRECT));
        ASSERT_EQ(state, TG_FLOW_RESET);
        break;
      default:
        ASSERT_EQ(run.mark, kTestNfqMark);
        ASSERT_EQ(state, TG_FLOW_NFQUEUE);
        break;
    }

    // Where the kernel stopped, userspace carries on with the later segments.
    uint32_t final_verdict = kernel_verdict;
    if (kernel_verdict == TG_VERDICT_USERSPACE) {
      nfqueue::QueuedHello queued(1001);
      uint32_t seq = 1001;
      for (const Bytes& segment : c.segments) {
        queued.add(seq, segment, names);
        seq += static_cast<uint32_t>(segment.size());
        if (queued.decided()) break;
      }
      // Undecided once everything arrived: the hold timeout refuses it.
      final_verdict = queued.decided() ? queued.decision().verdict : uint32_t{TG_VERDICT_RESET};
      queued_decided += queued.decided();
    }
    split += c.segments.size() > 1;

    if (c.well_formed) {
      ++well_formed;
      const bool allowed = c.sni && names.allows(normalized(*c.sni));
      ASSERT_EQ(final_verdict, allowed ? TG_VERDICT_PASS : TG_VERDICT_RESET)
          << "final " << verdict_name(final_verdict);
    }
  }

  const double share = 100.0 * static_cast<double>(counts[TG_VERDICT_USERSPACE]) /
                       static_cast<double>(corpus.size());
  std::printf(
      "hello differential: %zu hellos (%zu well-formed, %zu over several segments): kernel PASS "
      "%zu, RESET %zu, NFQUEUE %zu (%.1f%%; %zu decided by userspace)\n",
      corpus.size(), well_formed, split, counts[TG_VERDICT_PASS], counts[TG_VERDICT_RESET],
      counts[TG_VERDICT_USERSPACE], share, queued_decided);
  RecordProperty("nfqueue_share_percent", std::to_string(share));
  // Every outcome was exercised, not vacuously equal.
  EXPECT_GT(counts[TG_VERDICT_PASS], 1000u);
  EXPECT_GT(counts[TG_VERDICT_RESET], 1000u);
  EXPECT_GT(counts[TG_VERDICT_USERSPACE], 200u);
  EXPECT_GT(well_formed, 7000u);
}

}  // namespace
}  // namespace tlsgate::test
