#include "filters/threat_filter.h"

#include "filters/page_reply.h"
#include "filters/threat_event.h"
#include "pages/threat_block_page.h"
#include "threat/threat_entry.h"

namespace tlsgate::filters {

http::FilterStep ThreatFilter::on_request_head(http::FilterExchange& ex) {
  const auto lists = lists_.load();
  if (!lists || lists->empty()) return http::FilterStep::proceed();
  const http::RequestHead& request = ex.request();
  auto hit = lists->match_request(request.authority, request.path);
  if (!hit) return http::FilterStep::proceed();

  const http::FlowContext& flow = ex.flow();
  const std::string host = threat::authority_host(request.authority).value_or(request.authority);
  ThreatSighting seen{"request",
                      flow.client.to_string(),
                      flow.server.to_string(),
                      flow.sni.empty() ? std::nullopt : std::optional<std::string>(flow.sni),
                      request.scheme + "://" + request.authority + request.path,
                      flow.rule};
  report_threat(events_, *lists, *hit, seen);
  ex.note("threat_list", hit->list_name);
  return http::FilterStep::respond(page_reply(pages::render_threat_block_page(host, hit->list_name),
                                              "threat", "list:" + hit->list_name));
}

std::unique_ptr<http::HttpFilter> ThreatFilterFactory::make(const http::FlowContext&) const {
  return std::make_unique<ThreatFilter>(lists_, events_);
}

}  // namespace tlsgate::filters
