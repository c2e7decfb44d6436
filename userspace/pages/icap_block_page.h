// The pages of the ICAP filter (DESIGN.md §4a): what a user sees instead of
// a download or an upload that an antivirus service found infected, that
// could not be scanned (service down, slow, garbled and on_error = "block"),
// or that was too large to scan (oversize = "block"). Each names the URL and
// the service, and the threat when there is one.
#pragma once

#include <string_view>

#include "pages/page_response.h"

namespace tlsgate::pages {

// `upload`: the request's body was scanned (REQMOD), else the response's.
PageResponse render_icap_infected_page(std::string_view url, std::string_view service,
                                       std::string_view threat, bool upload);
PageResponse render_icap_unscanned_page(std::string_view url, std::string_view service,
                                        std::string_view reason, bool upload);

}  // namespace tlsgate::pages
