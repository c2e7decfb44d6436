// The threat-list check of every request (DESIGN.md §4a): the request's host
// against the domains and hosts lists, its host and path against the urls
// lists. A hit answers the threat block page (naming the list) in place of
// the upstream's response, which never sees the request, and writes a
// `threat` event. Each request reads the lists in force at that moment, so a
// reload applies to connections already open.
#pragma once

#include <atomic>
#include <memory>

#include "events/event_log.h"
#include "http/filter.h"
#include "threat/threat_lists.h"

namespace tlsgate::filters {

using ThreatListsSlot = std::atomic<std::shared_ptr<const threat::ThreatLists>>;

class ThreatFilter : public http::HttpFilter {
 public:
  ThreatFilter(const ThreatListsSlot& lists, events::EventLog* events)
      : lists_(lists), events_(events) {}
  std::string_view name() const override { return "threat_lists"; }
  http::FilterStep on_request_head(http::FilterExchange& ex) override;

 private:
  const ThreatListsSlot& lists_;
  events::EventLog* events_;
};

class ThreatFilterFactory : public http::HttpFilterFactory {
 public:
  // `lists` outlives the factory (TerminatorContext); `events` may be null.
  ThreatFilterFactory(const ThreatListsSlot& lists, events::EventLog* events)
      : lists_(lists), events_(events) {}
  // Made for every flow, even while no list is configured: a reload that
  // adds one applies to connections already open.
  std::unique_ptr<http::HttpFilter> make(const http::FlowContext& flow) const override;

 private:
  const ThreatListsSlot& lists_;
  events::EventLog* events_;
};

}  // namespace tlsgate::filters
