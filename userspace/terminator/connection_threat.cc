// Connection, the threat-list check at classification (DESIGN.md §4a): a
// flow whose SNI is threat-listed is blocked before any upstream connection,
// whatever rule it matched, with a TLS alert or, with [policy]
// block_response = "page", the threat page naming the list. Flows an address
// bypass rule (one without `sni`) matched are not checked: the kernel bypasses
// those on the SYN, before any name exists, and userspace decides as the
// kernel does. Kernel name bypasses never cover a listed name
// (threat/kernel_name_guard.h).
#include "filters/threat_event.h"
#include "pages/threat_block_page.h"
#include "terminator/connection.h"
#include "terminator/tls_alert.h"

namespace tlsgate::terminator {

bool Connection::block_listed_sni() {
  if (sni_.empty()) return false;
  if (verdict_.action == policy::Action::bypass && verdict_.rule_index &&
      *verdict_.rule_index < rules_->rules.size() &&
      rules_->rules[*verdict_.rule_index].sni.empty()) {
    return false;
  }
  const auto lists = ctx_.threat_lists.load();
  if (!lists || lists->empty()) return false;
  const auto hit = lists->match_name(sni_);
  if (!hit) return false;

  filters::report_threat(ctx_.events, *lists, *hit,
                         {"sni", client_.to_string(), original_dst_.to_string(), sni_, std::nullopt,
                          verdict_.rule_name});
  verdict_ = {policy::Action::block, std::nullopt, "list:" + hit->list_name};
  flow_action_ = "block";
  TerminatorCounters::add(counters_.blocked);
  TerminatorCounters::add(counters_.threat_blocked);
  teach_kernel(false);
  const std::string reason = "threat:" + hit->list_name;
  if (rules_->block_response == policy::RuleSet::BlockResponse::page) {
    show_block_page(pages::make_threat_block_handler(requested_host(), hit->list_name), reason);
    return true;
  }
  refuse_with_alert(tls_alert::kAccessDenied, reason);
  return true;
}

}  // namespace tlsgate::terminator
