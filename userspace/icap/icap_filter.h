// The antivirus step of the active HTTP layer (DESIGN.md §4a): downloads
// (response bodies) go to the RESPMOD services, uploads (request bodies) to
// the REQMOD ones, in [[icap]] order. A body is held (need_body) up to the
// service's max_scan_size and moves on only when the service answered:
// clean → the original goes on; modified → the service's message instead;
// infected → the gateway's block page naming threat, URL and service;
// down / slow / garbled → on_error; bigger than max_scan_size → oversize.
// Every scanned message is an `icap` event and counted.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "config/icap_service.h"
#include "events/event_log.h"
#include "http/filter.h"
#include "icap/scan_stats.h"
#include "policy/rule.h"

namespace tlsgate::icap {

// What the filters of every flow share (read-only but for the counters).
struct IcapFilterShared {
  // The services, in the order of the workers' clients.
  std::vector<config::IcapServiceSettings> services;
  std::shared_ptr<ScanStats> stats;
  events::EventLog* events = nullptr;  // null: no events
  // The current rules (a rule's `icap` key chooses services); null: every
  // service applies to every inspected flow.
  const std::atomic<std::shared_ptr<const policy::RuleSet>>* rules = nullptr;
};

class IcapFilterFactory final : public http::HttpFilterFactory {
 public:
  explicit IcapFilterFactory(std::shared_ptr<const IcapFilterShared> shared)
      : shared_(std::move(shared)) {}
  // Null when no service applies to the flow's rule (`icap = []`, or no
  // [[icap]] at all).
  std::unique_ptr<http::HttpFilter> make(const http::FlowContext& flow) const override;

  // The indices of the services that apply to a flow inspected by `rule`.
  std::vector<size_t> services_for(const std::string& rule) const;

 private:
  std::shared_ptr<const IcapFilterShared> shared_;
};

}  // namespace tlsgate::icap
