// A gateway page (pages/) as the HTTP layer's local reply: what a filter
// answers instead of the upstream's response.
#pragma once

#include <string>

#include "http/message.h"
#include "pages/page_response.h"

namespace tlsgate::filters {

// `outcome` and `detail` name what happened for the `http` event
// ("blocked", "rule:<name>"; "threat", "list:<name>").
http::LocalReply page_reply(pages::PageResponse page, std::string outcome, std::string detail);

}  // namespace tlsgate::filters
