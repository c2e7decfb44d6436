// The page a client gets when a threat list (DESIGN.md §4a) blocks a site or
// a request: it names the host and the list, never the URL's content (a
// listed URL may carry anything in its path). Served for a threat-listed SNI
// with [policy] block_response = "page" (every request on the session gets
// it), and by the HTTP layer for a threat-listed request host or URL.
#pragma once

#include <string>
#include <string_view>

#include "pages/page_response.h"

namespace tlsgate::pages {

PageResponse render_threat_block_page(std::string_view host, std::string_view list);

PageHandler make_threat_block_handler(std::string host, std::string list);

}  // namespace tlsgate::pages
