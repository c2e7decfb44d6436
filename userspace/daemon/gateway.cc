#include "daemon/gateway.h"

#include <cstdio>
#include <thread>

#include <nlohmann/json.hpp>

#include "capture/keylog_tap.h"
#include "config/config_loader.h"
#include "config/restart_settings.h"
#include "daemon/own_ca_exclusion.h"
#include "events/journal_fields.h"
#include "forging/client_facing_context.h"
#include "policy/kernel_rule_compiler.h"
#include "threat/kernel_name_guard.h"

namespace tlsgate::daemon {

namespace {

kernel::KernelSideOptions kernel_options(const config::GatewayConfig& c) {
  kernel::KernelSideOptions o;
  o.lan_interfaces = c.lan_interfaces;
  o.pin_dir = c.bpf_pin_dir;
  o.steer_mark = c.steer_mark;
  o.route_table = c.route_table;
  o.listen_port = c.listen_port;
  o.intercept_ports = c.intercept_ports;
  o.fail_closed = c.fail_mode == config::FailMode::closed;
  o.quic_block = c.quic == config::QuicMode::block;
  return o;
}

terminator::TerminatorSettings terminator_settings(const config::GatewayConfig& c) {
  terminator::TerminatorSettings s;
  s.listen_port = c.listen_port;
  s.workers = c.workers != 0 ? c.workers : std::max(1u, std::thread::hardware_concurrency());
  s.max_client_hello = c.max_client_hello;
  s.non_tls = c.non_tls;
  s.non_http = c.non_http;
  s.handshake_timeout = c.handshake_timeout;
  s.connect_timeout = c.connect_timeout;
  s.idle_timeout = c.idle_timeout;
  s.revocation = c.revocation;
  s.prompt_exception_ttl = c.prompt_exception_ttl;
  s.max_connections_per_client = c.max_connections_per_client;
  return s;
}

suggest::AdvisorSettings advisor_settings(const config::SuggestSettings& s) {
  suggest::AdvisorSettings a;
  a.threshold = s.threshold;
  a.window = s.window;
  a.auto_bypass = s.auto_bypass;
  a.auto_bypass_expiry = s.auto_bypass_expiry;
  a.retest_interval = s.retest_interval;
  a.device_prefix_v4 = s.device_prefix_v4;
  a.device_prefix_v6 = s.device_prefix_v6;
  return a;
}

// The CA every rule names must be able to sign (a reload naming an unknown
// CA is refused; the running rules stay).
void check_rule_cas(const tls::CaRegistry& cas, const policy::RuleSet& rules) {
  std::vector<std::string> names{""};  // the default CA signs for rules that name none
  for (const auto& rule : rules.rules) {
    if (!rule.ca.empty()) names.push_back(rule.ca);
  }
  if (std::string problem = cas.check_names(names); !problem.empty()) {
    throw std::runtime_error("rules: " + problem);
  }
}

void log_not_compiled(const policy::KernelRules& rules) {
  for (const auto& why : rules.not_compiled)
    std::fprintf(stderr, "tlsgated: userspace-only rule: %s\n", why.c_str());
}

void log_threat_lists(const threat::ThreatLists& lists) {
  for (const auto& list : lists.lists()) {
    std::fprintf(
        stderr, "tlsgated: threat list '%s': %zu entries from %s in %lld ms, %zu malformed lines\n",
        list.spec.name.c_str(), list.entries, list.spec.file.c_str(),
        static_cast<long long>(list.load_time.count() / 1000), list.malformed);
    for (const auto& bad : list.malformed_lines) {
      std::fprintf(stderr, "tlsgated: threat list '%s': %s:%zu: %s\n", list.spec.name.c_str(),
                   list.spec.file.c_str(), bad.line, bad.problem.c_str());
    }
    if (list.malformed > list.malformed_lines.size()) {
      std::fprintf(stderr, "tlsgated: threat list '%s': %zu more malformed lines\n",
                   list.spec.name.c_str(), list.malformed - list.malformed_lines.size());
    }
  }
}

}  // namespace

policy::KernelRules Gateway::compile_for_kernel(const config::GatewayConfig& config,
                                                std::span<const uint16_t> intercept_ports,
                                                const threat::ThreatLists* previous,
                                                std::shared_ptr<const threat::ThreatLists>* lists) {
  auto compiled = policy::compile_kernel_rules(config.rules, intercept_ports);
  if (lists != nullptr && *lists == nullptr) {
    const auto watched = threat::wildcard_suffixes(compiled);
    *lists = threat::ThreatLists::load(config.threat_lists, previous, watched);
  }
  if (lists != nullptr) threat::withhold_threatened_names(compiled, config.rules, **lists);
  return compiled;
}

Gateway::Gateway(config::GatewayConfig config, std::filesystem::path config_path,
                 std::vector<UniqueFd> inherited_listeners, const std::function<void()>& take_over)
    : config_(std::move(config)), config_path_(std::move(config_path)) {
  // Under systemd stdout is the journal: with structured journal events on,
  // mirroring them to stdout would log each one twice.
  const bool journal_is_stdout = config_.event_journal && events::stdout_is_journal();
  events_ = std::make_unique<events::EventLog>(config_.event_log, !journal_is_stdout,
                                               config_.event_journal);
  tls::CaRegistry::Options ca_options;
  ca_options.retire_after = config_.ca.retire_after;
  ca_options.fallback_retry = config_.ca.fallback_retry;
  ca_options.on_event = [this](nlohmann::json e) {
    // Commands only (after construction): a new certificate is refused
    // upstream from the next handshake on.
    if (adds_own_ca_certificates(e) && verifier_ && untrusted_ca_) {
      std::lock_guard lock(own_cas_mu_);  // the last set stored is the newest
      verifier_->exclude_gateway_cas(own_ca_exclusion(*cas_, *untrusted_ca_));
    }
    events_->emit("ca", e);
  };
  cas_ = tls::CaRegistry::open(config_.state_dir, std::move(ca_options));
  check_rule_cas(*cas_, config_.rules);
  // The list files are read before anything is installed: a list that
  // cannot be read stops the start like any configuration error.
  std::shared_ptr<const threat::ThreatLists> lists;
  const auto compiled = compile_for_kernel(config_, config_.intercept_ports, nullptr, &lists);
  log_threat_lists(*lists);
  cas_->start_clock();
  verifier_ = std::make_unique<tls::UpstreamVerifier>(config_.trust_store);
  forged_cache_ = std::make_unique<tls::ForgedCertCache>();
  untrusted_ca_ =
      std::make_unique<tls::CaStore>(tls::CaStore::open_or_create_untrusted(config_.state_dir));
  untrusted_forger_ = std::make_unique<tls::LeafForger>(*untrusted_ca_);
  verifier_->exclude_gateway_cas(own_ca_exclusion(*cas_, *untrusted_ca_));
  revocation_ = std::make_unique<tls::RevocationChecker>(tls::RevocationChecker::Options{});
  exception_tokens_ = std::make_unique<pages::ExceptionToken>(
      pages::ExceptionToken::open_or_create(config_.state_dir));
  exceptions_ = std::make_unique<pages::ExceptionStore>();
  advisor_ = std::make_unique<suggest::BypassAdvisor>(
      advisor_settings(config_.suggest),
      [events = events_.get()](std::string_view type, nlohmann::json e) {
        events->emit(type, std::move(e));
      });

  context_ = std::make_unique<terminator::TerminatorContext>();
  context_->settings = terminator_settings(config_);
  if (config_.max_connections_per_client != 0) {
    context_->client_limit =
        std::make_unique<terminator::ClientConnectionLimit>(config_.max_connections_per_client);
  }
  context_->rules.store(std::make_shared<const policy::RuleSet>(config_.rules));
  context_->threat_lists.store(lists);
  context_->upstream_ctx = verifier_->make_upstream_ctx();
  context_->ticket_keys = std::make_unique<tls::TicketKeys>();
  context_->client_facing_ctx = tls::make_client_facing_ctx(context_->ticket_keys.get());
  // Idle (no file, no directory) until a flow whose rule has `capture`.
  capture_ = std::make_unique<capture::CaptureWriter>(config_.capture, events_.get());
  if (!capture::install_keylog_tap(context_->upstream_ctx.get(), capture_.get()) ||
      !capture::install_keylog_tap(context_->client_facing_ctx.get(), capture_.get())) {
    throw std::runtime_error("cannot install the capture key log callback");
  }
  context_->capture = capture_.get();
  context_->cas = cas_.get();
  context_->forged_cache = forged_cache_.get();
  context_->events = events_.get();
  context_->untrusted_forger = untrusted_forger_.get();
  context_->revocation = revocation_.get();
  context_->exception_tokens = exception_tokens_.get();
  context_->exceptions = exceptions_.get();
  context_->advisor = advisor_.get();
  // [[icap]]: resolved once here (a worker never resolves a name); the
  // filter factory joins the request filters (terminator/request_filters.cc).
  context_->icap_services = icap::resolve_services(config_.icap_services);
  auto icap_shared = std::make_shared<icap::IcapFilterShared>();
  icap_shared->services = config_.icap_services;
  std::vector<std::string> icap_names;
  for (const auto& s : config_.icap_services) icap_names.push_back(s.name);
  icap_stats_ = std::make_shared<icap::ScanStats>(std::move(icap_names));
  icap_shared->stats = icap_stats_;
  icap_shared->events = events_.get();
  icap_shared->rules = &context_->rules;
  std::unique_ptr<icap::IcapFilterFactory> icap_filters;
  if (!config_.icap_services.empty()) {
    icap_filters = std::make_unique<icap::IcapFilterFactory>(std::move(icap_shared));
  }
  request_filters_ = std::make_unique<terminator::RequestFilters>(
      context_->rules, context_->threat_lists, events_.get(), std::move(icap_filters));
  context_->request_filters = request_filters_.get();
  offload_ = std::make_unique<KernelOffload>(*context_, config_);

  // Listeners first: the moment the TC program is attached, SYNs find them.
  const bool taking_over = static_cast<bool>(take_over);
  terminator_ = std::make_unique<terminator::Terminator>(*context_, std::move(inherited_listeners));
  terminator_->start();
  try {
    kernel_ = kernel::KernelSide::install(kernel_options(config_));
    log_not_compiled(compiled);
    kernel_->apply_rules(compiled);
    if (taking_over) take_over();
    kernel_decisions_ = std::make_unique<KernelDecisionEvents>(
        kernel_->decisions_fd(), *events_, [ctx = context_.get()] { return ctx->rules.load(); });
    offload_->attach(*kernel_, compiled);
    if (!config_.ca.distribution_listen.empty()) {
      distribution_ = std::make_unique<distribution::DistributionServer>(
          config_.ca.distribution_listen, [cas = cas_.get()] { return cas->published(); });
      distribution_->start();
    }
  } catch (...) {
    if (kernel_decisions_) kernel_decisions_->stop();
    offload_->detach();
    // Before take_over the predecessor still serves through this kernel side.
    if (kernel_ && !taking_over) kernel_->remove();
    terminator_->stop();
    throw;
  }
}

Gateway::~Gateway() {
  stop();
}

std::string Gateway::reload() {
  if (std::string error = events_->reopen(); !error.empty()) {
    std::fprintf(stderr, "tlsgated: event log: %s (still writing to the old file)\n",
                 error.c_str());
  }
  config::GatewayConfig next;
  std::shared_ptr<const threat::ThreatLists> lists;
  policy::KernelRules compiled;
  try {
    next = config::load_config_file(config_path_);
    check_rule_cas(*cas_, next.rules);
    // Built here, on the control thread: workers keep the running lists
    // until the swap below.
    compiled = compile_for_kernel(next, config_.intercept_ports,
                                  context_->threat_lists.load().get(), &lists);
  } catch (const std::exception& e) {
    return e.what();
  }
  log_threat_lists(*lists);
  restart_needed_ = config::settings_needing_restart(config_, next);
  log_not_compiled(compiled);
  // Kernel names first: a name newly listed stops being bypassed by the
  // kernel before userspace starts blocking it.
  kernel_->apply_rules(compiled);
  offload_->set_rules(compiled);
  context_->rules.store(std::make_shared<const policy::RuleSet>(next.rules));
  context_->threat_lists.store(lists);
  config_.rules = std::move(next.rules);
  config_.threat_lists = std::move(next.threat_lists);
  advisor_->set_settings(advisor_settings(next.suggest));
  config_.suggest = next.suggest;
  return {};
}

void Gateway::hand_over() {
  if (handed_over_ || stopped_) return;
  handed_over_ = true;
  terminator_->stop_accepting();
  if (distribution_) distribution_->stop();
  if (kernel_decisions_) kernel_decisions_->stop();
  if (offload_) offload_->release_queue();
}

void Gateway::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (distribution_) distribution_->stop();
  if (kernel_decisions_) kernel_decisions_->stop();
  if (kernel_ && !handed_over_ && !keep_kernel_side_) kernel_->remove();
  if (offload_) offload_->detach();  // nothing is queued once the kernel side is gone
  if (terminator_) terminator_->stop();
}

std::string Gateway::status_line() const {
  std::string s = "workers=" + std::to_string(context_->settings.workers) + " interfaces=";
  for (size_t i = 0; i < config_.lan_interfaces.size(); ++i) {
    s += (i ? "," : "") + config_.lan_interfaces[i];
  }
  s += " rules=" + std::to_string(config_.rules.rules.size());
  return s;
}

}  // namespace tlsgate::daemon
