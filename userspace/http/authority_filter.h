// Authority (DESIGN.md §4a): a request's Host / :authority must name the
// flow's validated SNI — or, on a flow without SNI, a name of the certificate
// the upstream presented (RFC 6125 wildcards). Anything else is answered
// `421 Misdirected Request` and never reaches the upstream: no h2 connection
// coalescing across names, no domain fronting through an inspected flow.
// First in the chain (terminator/request_filters.cc).
#pragma once

#include <memory>
#include <string_view>

#include "http/filter.h"

namespace tlsgate::http {

// Whether `authority` (host, optional ":port") names the flow: case, a
// trailing dot and the default port (443, or the flow's own port) aside.
bool authority_matches_flow(std::string_view authority, const FlowContext& flow);

class AuthorityFilter final : public HttpFilter {
 public:
  std::string_view name() const override { return "authority"; }
  FilterStep on_request_head(FilterExchange& ex) override;
};

class AuthorityFilterFactory final : public HttpFilterFactory {
 public:
  std::unique_ptr<HttpFilter> make(const FlowContext& flow) const override;
};

}  // namespace tlsgate::http
