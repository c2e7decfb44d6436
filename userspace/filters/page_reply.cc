#include "filters/page_reply.h"

namespace tlsgate::filters {

http::LocalReply page_reply(pages::PageResponse page, std::string outcome, std::string detail) {
  http::LocalReply reply;
  reply.status = page.status;
  for (auto& [name, value] : page.headers) reply.headers.push_back({name, std::move(value)});
  reply.body = std::move(page.body);
  reply.outcome = std::move(outcome);
  reply.detail = std::move(detail);
  return reply;
}

}  // namespace tlsgate::filters
