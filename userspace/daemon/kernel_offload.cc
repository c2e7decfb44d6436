#include "daemon/kernel_offload.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace tlsgate::daemon {

namespace {

std::shared_ptr<const policy::SniBypassSet> names_of(const policy::KernelRules& compiled) {
  return std::make_shared<const policy::SniBypassSet>(compiled.sni_bypass);
}

Endpoint server_of(const tg_flow_key& key) {
  Endpoint server;
  if (key.family == AF_INET) {
    in_addr a{};
    std::memcpy(&a, key.daddr, 4);
    server.address = IpAddress::v4(a);
  } else {
    in6_addr a{};
    std::memcpy(&a, key.daddr, 16);
    server.address = IpAddress::v6(a);
  }
  server.port = ntohs(key.dport);
  return server;
}

}  // namespace

class KernelOffload::Learned final : public terminator::LearnedAddressFeed {
 public:
  explicit Learned(std::atomic<kernel::KernelSide*>& k) : kernel_(k) {}
  void bypass_only(const Endpoint& server) override {
    if (auto* k = kernel_.load()) k->learn_bypass_only(server);
  }
  void mixed(const Endpoint& server) override {
    if (auto* k = kernel_.load()) k->learn_mixed(server);
  }

 private:
  std::atomic<kernel::KernelSide*>& kernel_;
};

class KernelOffload::Splice final : public terminator::KernelSplice {
 public:
  explicit Splice(std::atomic<kernel::KernelSide*>& k) : kernel_(k) {}
  std::optional<terminator::SplicedSockets> insert(int client_fd, int upstream_fd) override {
    kernel::SockmapSplicer* s = splicer();
    if (s == nullptr) return std::nullopt;
    auto pair = s->insert(client_fd, upstream_fd);
    if (!pair) return std::nullopt;
    return terminator::SplicedSockets{pair->a_cookie, pair->b_cookie};
  }
  Bytes bytes(const terminator::SplicedSockets& pair) const override {
    kernel::SockmapSplicer* s = splicer();
    if (s == nullptr) return {};
    kernel::SplicedBytes b = s->bytes({pair.client_cookie, pair.upstream_cookie});
    return {b.from_a, b.from_b};
  }
  void remove(const terminator::SplicedSockets& pair) override {
    if (kernel::SockmapSplicer* s = splicer())
      s->remove({pair.client_cookie, pair.upstream_cookie});
  }

 private:
  kernel::SockmapSplicer* splicer() const {
    kernel::KernelSide* k = kernel_.load();
    return k != nullptr ? k->splicer() : nullptr;
  }
  std::atomic<kernel::KernelSide*>& kernel_;
};

class KernelOffload::QueuedVerdicts final : public nfqueue::QueuedFlowVerdicts {
 public:
  explicit QueuedVerdicts(std::atomic<kernel::KernelSide*>& k) : kernel_(k) {}
  void bypass(const tg_flow_key& flow) override {
    if (auto* k = kernel_.load()) k->set_flow_state(flow, TG_FLOW_BYPASS, TG_REASON_LEARNED_BYPASS);
  }
  void reset(const tg_flow_key& flow) override {
    auto* k = kernel_.load();
    if (k == nullptr) return;
    k->set_flow_state(flow, TG_FLOW_RESET, TG_REASON_SNI_MISMATCH);
    k->learn_mixed(server_of(flow));
  }

 private:
  std::atomic<kernel::KernelSide*>& kernel_;
};

KernelOffload::KernelOffload(terminator::TerminatorContext& ctx,
                             const config::GatewayConfig& config)
    : ctx_(ctx),
      fail_closed_(config.fail_mode == config::FailMode::closed),
      learned_(std::make_unique<Learned>(kernel_)),
      splice_(std::make_unique<Splice>(kernel_)),
      queued_(std::make_unique<QueuedVerdicts>(kernel_)) {
  terminator::BypassProberSettings probe;
  // Half the client's handshake time: the other half is left for the flow
  // itself (connecting upstream, or inspecting when the probe failed).
  probe.timeout = config.handshake_timeout / 2;
  prober_ = std::make_unique<terminator::BypassProber>(ctx_.upstream_ctx.get(), probe);
  ctx_.prober = prober_.get();
  ctx_.learned = learned_.get();
  ctx_.splice = splice_.get();
  ctx_.kernel_names.store(std::make_shared<const policy::SniBypassSet>());
}

KernelOffload::~KernelOffload() {
  detach();
}

void KernelOffload::attach(kernel::KernelSide& kernel, const policy::KernelRules& compiled) {
  if (kernel.splicer() == nullptr) {
    std::fprintf(stderr, "tlsgated: kernel splice unavailable (%s): bypassed flows are copied\n",
                 kernel.splice_error().c_str());
  }
  auto names = names_of(compiled);
  ctx_.kernel_names.store(names);
  kernel_.store(&kernel);
  nfqueue::NfqueueSettings settings;
  settings.queue = kernel.options().nfqueue_num;
  settings.fail_closed = fail_closed_;
  nfqueue_ = std::make_unique<nfqueue::NfqueueClassifier>(settings, *queued_, names);
}

void KernelOffload::detach() {
  nfqueue_.reset();
  kernel_.store(nullptr);
}

void KernelOffload::set_rules(const policy::KernelRules& compiled) {
  auto names = names_of(compiled);
  ctx_.kernel_names.store(names);
  if (nfqueue_) nfqueue_->set_names(names);
}

std::map<std::string, uint64_t> KernelOffload::counters() const {
  std::map<std::string, uint64_t> out;
  if (nfqueue_) out = nfqueue_->counter_values();
  out["bypass_probes"] = prober_->probes_run();
  return out;
}

}  // namespace tlsgate::daemon
