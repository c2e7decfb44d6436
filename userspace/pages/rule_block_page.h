// The page a client gets when a rule blocks the site it asked for and
// [policy] block_response = "page" (DESIGN.md §1: block → TLS alert or block
// page): it names the host and the rule, so users can tell the administrator
// exactly what stopped them. Every request on the session gets it (403).
#pragma once

#include <string>
#include <string_view>

#include "pages/page_response.h"

namespace tlsgate::pages {

PageResponse render_rule_block_page(std::string_view host, std::string_view rule,
                                    std::string_view request_path);

PageHandler make_rule_block_handler(std::string host, std::string rule);

}  // namespace tlsgate::pages
