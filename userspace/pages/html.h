// Escaping for everything a page echoes (SECURITY-BATTERY case 26): server
// names, paths and certificate fields come from the client or the server and
// must never become markup.
#pragma once

#include <string>
#include <string_view>

namespace tlsgate::pages {

// Text safe in element content and in double- or single-quoted attribute
// values: & < > " ' become entities; control characters and invalid UTF-8
// become U+FFFD; valid UTF-8 (non-ASCII names, subjects) is kept.
std::string html_escape(std::string_view text);

// The start of every page the gateway serves, up to and including <body>:
// one stylesheet inline (the pages load nothing), no referrer.
std::string page_head(std::string_view title);

}  // namespace tlsgate::pages
