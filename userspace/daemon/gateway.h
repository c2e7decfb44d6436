// Assembles a running gateway from a configuration: CAs, upstream verifier,
// TLS contexts, forger and cache, event log, terminator workers and the
// kernel side — in the order that never leaves a steered flow without a
// listener — and takes it apart in the reverse order.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ca/ca_registry.h"
#include "ca/ca_store.h"
#include "capture/capture_writer.h"
#include "common/unique_fd.h"
#include "config/gateway_config.h"
#include "daemon/kernel_decision_events.h"
#include "daemon/kernel_offload.h"
#include "distribution/distribution_server.h"
#include "events/event_log.h"
#include "forging/forged_cert_cache.h"
#include "forging/leaf_forger.h"
#include "icap/icap_filter.h"
#include "icap/scan_stats.h"
#include "kernel/kernel_side.h"
#include "pages/exception_store.h"
#include "pages/exception_token.h"
#include "suggest/bypass_advisor.h"
#include "terminator/terminator.h"
#include "terminator/terminator_context.h"
#include "threat/threat_lists.h"
#include "validation/revocation_checker.h"
#include "validation/upstream_verifier.h"

namespace tlsgate::daemon {

class Gateway {
 public:
  // Throws std::runtime_error (or config::ConfigError) naming what failed;
  // whatever was installed before the failure is removed again.
  // A hand-over (handover.h): `inherited_listeners` are the predecessor's,
  // and `take_over` runs once this gateway's kernel side is installed, before
  // it binds what only one process can hold (the NFQUEUE queue, the CA
  // distribution port); a predecessor's kernel side is never removed here.
  Gateway(config::GatewayConfig config, std::filesystem::path config_path,
          std::vector<UniqueFd> inherited_listeners = {},
          const std::function<void()>& take_over = {});
  ~Gateway();

  // Reopens the event file (logrotate), re-reads the config file; on success
  // swaps rules and [suggest] in the terminator and the kernel maps. On error
  // nothing changes and the error is returned.
  std::string reload();
  // The rules compiled for the kernel, without the name bypasses a threat
  // list withholds (threat/kernel_name_guard.h); loads the list files
  // (throws threat::ThreatListError) when `lists` is null.
  static policy::KernelRules compile_for_kernel(const config::GatewayConfig& config,
                                                std::span<const uint16_t> intercept_ports,
                                                const threat::ThreatLists* previous,
                                                std::shared_ptr<const threat::ThreatLists>* lists);
  // Settings the last successful reload found changed but cannot apply
  // before a restart ("gateway.fail_mode", ...); the running values stay.
  const std::vector<std::string>& restart_needed() const { return restart_needed_; }
  // A successor took over: accept nothing more, give up the NFQUEUE queue,
  // the kernel decision ring and the CA distribution port. The flows in
  // progress go on (active_flows()); stop() then leaves the kernel side to
  // the successor.
  void hand_over();
  bool handed_over() const { return handed_over_; }
  uint64_t active_flows() const { return terminator_->active_connections(); }
  // `systemctl restart` (systemd_restart.h): the next stop() leaves the
  // kernel side in place for the next start, as a crash does.
  void keep_kernel_side() { keep_kernel_side_ = true; }
  // Removes the kernel side first (new flows then pass natively), then ends
  // every flow in the terminator. After hand_over() or keep_kernel_side()
  // only the flows end.
  void stop();

  std::string status_line() const;

  // For the control socket and the metrics endpoint (any thread).
  const config::GatewayConfig& config() const { return config_; }  // rules: see rules()
  const std::filesystem::path& config_path() const { return config_path_; }
  std::shared_ptr<const policy::RuleSet> rules() const { return context_->rules.load(); }
  std::shared_ptr<const threat::ThreatLists> threat_lists() const {
    return context_->threat_lists.load();
  }
  terminator::Terminator& terminator() { return *terminator_; }
  const terminator::Terminator& terminator() const { return *terminator_; }
  // nullopt once stopped.
  std::optional<kernel::KernelCounters> kernel_counters() const {
    if (stopped_ || !kernel_) return std::nullopt;
    return kernel_->counters();
  }
  // nfqueue_* (the NFQUEUE classifier) and bypass_probes.
  std::map<std::string, uint64_t> kernel_offload_counters() const { return offload_->counters(); }
  // Kernel decisions written as flow events / over the rate limit (0 when stopped).
  uint64_t kernel_decision_events() const {
    return kernel_decisions_ ? kernel_decisions_->emitted() : 0;
  }
  uint64_t kernel_decision_events_suppressed() const {
    return kernel_decisions_ ? kernel_decisions_->suppressed() : 0;
  }
  const tls::ForgedCertCache& forged_cache() const { return *forged_cache_; }
  tls::CaRegistry& cas() { return *cas_; }
  events::EventLog& events() const { return *events_; }
  // Bypass suggestions and automatic scoped bypasses (DESIGN.md §7).
  suggest::BypassAdvisor& advisor() { return *advisor_; }
  // The counters of the antivirus filter (ICAP).
  const icap::ScanStats& icap_stats() const { return *icap_stats_; }

 private:
  config::GatewayConfig config_;
  std::filesystem::path config_path_;
  std::vector<std::string> restart_needed_;
  std::unique_ptr<events::EventLog> events_;
  std::unique_ptr<tls::CaRegistry> cas_;  // the gateway's CAs, their rotation and adoption
  std::unique_ptr<tls::UpstreamVerifier> verifier_;  // refuses every gateway CA upstream
  std::mutex own_cas_mu_;                            // one refresh of that set at a time
  std::unique_ptr<tls::ForgedCertCache> forged_cache_;
  std::unique_ptr<tls::CaStore> untrusted_ca_;  // signs leaves clients must warn about
  std::unique_ptr<tls::LeafForger> untrusted_forger_;
  std::unique_ptr<tls::RevocationChecker> revocation_;
  std::unique_ptr<pages::ExceptionToken> exception_tokens_;
  std::unique_ptr<pages::ExceptionStore> exceptions_;
  std::unique_ptr<suggest::BypassAdvisor> advisor_;
  std::shared_ptr<icap::ScanStats> icap_stats_;
  std::unique_ptr<terminator::RequestFilters> request_filters_;  // of inspected flows
  // Capture files of the rules that ask; outlives the context's SSL_CTXs.
  std::unique_ptr<capture::CaptureWriter> capture_;
  std::unique_ptr<terminator::TerminatorContext> context_;
  std::unique_ptr<KernelOffload> offload_;  // prober, kernel adapters, NFQUEUE classifier
  std::unique_ptr<terminator::Terminator> terminator_;
  std::unique_ptr<kernel::KernelSide> kernel_;
  // Flow events for the kernel's own decisions; after kernel_: stopped first.
  std::unique_ptr<KernelDecisionEvents> kernel_decisions_;
  std::unique_ptr<distribution::DistributionServer> distribution_;  // null: none configured
  bool stopped_ = false;
  bool handed_over_ = false;
  bool keep_kernel_side_ = false;
};

}  // namespace tlsgate::daemon
