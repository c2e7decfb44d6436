#include "daemon/gateway_metrics.h"

#include <cstdio>
#include <map>

#include "daemon/kernel_counter_names.h"
#include "metrics/prometheus_text.h"

namespace tlsgate::daemon {

namespace {

using metrics::MetricFamily;
using metrics::Sample;

double value_of(const std::map<std::string, uint64_t>& counters, const std::string& name) {
  auto it = counters.find(name);
  return it == counters.end() ? 0 : static_cast<double>(it->second);
}

// Terminator counters that are errors, by the class shown in the label.
constexpr std::pair<const char*, const char*> kErrorClasses[] = {
    {"client_hello_rejected", "client_hello_rejected"},
    {"non_tls", "non_tls"},
    {"handshake_timeouts", "handshake_timeout"},
    {"upstream_connect_failures", "upstream_connect"},
    {"upstream_tls_failures", "upstream_tls"},
    {"client_handshake_failures", "client_handshake"},
    {"bypass_probe_failures", "bypass_probe"},
};

}  // namespace

std::string render_metrics(const Gateway& gateway, const ControlCounters& control) {
  const auto terminator = gateway.terminator().counters();
  std::vector<MetricFamily> families;

  families.push_back(
      {"tlsgate_build_info", "tlsgated version.", "gauge", {{{{"version", TLSGATE_VERSION}}, 1}}});
  families.push_back({"tlsgate_flows_total",
                      "Flows the terminator classified, by verdict.",
                      "counter",
                      {{{{"verdict", "inspect"}}, value_of(terminator, "flows_inspected")},
                       {{{"verdict", "bypass"}}, value_of(terminator, "flows_bypassed")},
                       {{{"verdict", "block"}}, value_of(terminator, "flows_blocked")}}});
  MetricFamily errors{"tlsgate_errors_total",
                      "Flows that failed, by class (client hello, handshakes, upstream).",
                      "counter",
                      {}};
  for (const auto& [counter, error_class] : kErrorClasses) {
    if (terminator.contains(counter)) {
      errors.samples.push_back({{{"class", error_class}}, value_of(terminator, counter)});
    }
  }
  families.push_back(std::move(errors));
  families.push_back({"tlsgate_handshake_failures_total",
                      "TLS handshakes that failed, by side (upstream: the server's "
                      "certificate or protocol; client: the client refused ours).",
                      "counter",
                      {{{{"side", "upstream"}}, value_of(terminator, "upstream_tls_failures")},
                       {{{"side", "client"}}, value_of(terminator, "client_handshake_failures")}}});
  // Every terminator counter under its own name, so a new one is exported
  // without touching this file.
  for (const auto& [name, value] : terminator) {
    const bool gauge = name.ends_with("_active");
    families.push_back({"tlsgate_terminator_" + name + (gauge ? "" : "_total"),
                        "Terminator counter " + name + ", summed over workers.",
                        gauge ? "gauge" : "counter",
                        {{{}, static_cast<double>(value)}}});
  }

  const auto& cache = gateway.forged_cache();
  families.push_back({"tlsgate_forge_cache_hits_total",
                      "Forged leaves served from the cache.",
                      "counter",
                      {{{}, static_cast<double>(cache.hits())}}});
  families.push_back({"tlsgate_forge_cache_misses_total",
                      "Leaves forged (cache misses).",
                      "counter",
                      {{{}, static_cast<double>(cache.misses())}}});
  families.push_back({"tlsgate_forge_cache_entries",
                      "Forged leaves in the cache.",
                      "gauge",
                      {{{}, static_cast<double>(cache.size())}}});

  std::optional<kernel::KernelCounters> kernel;
  try {
    kernel = gateway.kernel_counters();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlsgated: metrics: %s\n", e.what());  // the rest is still served
  }
  if (kernel) {
    MetricFamily k{"tlsgate_kernel_events_total",
                   "Kernel-side counters (TC program), from the BPF counters map.",
                   "counter",
                   {}};
    for (size_t i = 0; i < kernel->value.size(); ++i) {
      k.samples.push_back(
          {{{"counter", kernel_counter_name(i)}}, static_cast<double>(kernel->value[i])});
    }
    families.push_back(std::move(k));
  }

  families.push_back(
      {"tlsgate_kernel_decision_events_total",
       "Kernel decisions (bypass on the SYN, SNI check, fail_mode, QUIC refused) by fate: "
       "written as flow events, or suppressed by the per-kind rate limit. Records the full "
       "ring dropped are the kernel counter decision_records_dropped.",
       "counter",
       {{{{"fate", "written"}}, static_cast<double>(gateway.kernel_decision_events())},
        {{{"fate", "suppressed"}},
         static_cast<double>(gateway.kernel_decision_events_suppressed())}}});
  families.push_back({"tlsgate_events_failed_writes_total",
                      "Event lines that could not be written to the event file or stdout.",
                      "counter",
                      {{{}, static_cast<double>(gateway.events().failed_writes())}}});
  families.push_back({"tlsgate_events_journal_failures_total",
                      "Events journald did not take.",
                      "counter",
                      {{{}, static_cast<double>(gateway.events().journal_failures())}}});
  const auto lists = gateway.threat_lists();
  MetricFamily hits{"tlsgate_threat_list_hits_total",
                    "Threat-list hits, by list and stage (sni: at classification; request: a "
                    "request's host or URL).",
                    "counter",
                    {}};
  MetricFamily entries{"tlsgate_threat_list_entries", "Entries loaded, by list.", "gauge", {}};
  MetricFamily malformed{"tlsgate_threat_list_malformed_lines",
                         "Lines of the list file that were not entries, by list.",
                         "gauge",
                         {}};
  for (const auto& list : lists->lists()) {
    const std::string& name = list.spec.name;
    hits.samples.push_back(
        {{{"list", name}, {"stage", "sni"}}, static_cast<double>(list.counters->sni_hits.load())});
    hits.samples.push_back({{{"list", name}, {"stage", "request"}},
                            static_cast<double>(list.counters->request_hits.load())});
    entries.samples.push_back({{{"list", name}}, static_cast<double>(list.entries)});
    malformed.samples.push_back({{{"list", name}}, static_cast<double>(list.malformed)});
  }
  if (!lists->empty()) {
    families.push_back(std::move(hits));
    families.push_back(std::move(entries));
    families.push_back(std::move(malformed));
  }
  families.push_back({"tlsgate_rules",
                      "Rules in the running configuration.",
                      "gauge",
                      {{{}, static_cast<double>(gateway.rules()->rules.size())}}});
  families.push_back(
      {"tlsgate_config_reloads_total",
       "Configuration reloads, by result.",
       "counter",
       {{{{"result", "ok"}}, static_cast<double>(control.reloads.load())},
        {{{"result", "refused"}}, static_cast<double>(control.reloads_refused.load())}}});
  families.push_back({"tlsgate_rule_edits_total",
                      "Rules added or deleted through tlsgatectl.",
                      "counter",
                      {{{}, static_cast<double>(control.rule_edits.load())}}});
  for (auto& f : gateway.icap_stats().families()) families.push_back(std::move(f));
  return metrics::render(families);
}

}  // namespace tlsgate::daemon
