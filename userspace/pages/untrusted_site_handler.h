// The PageHandler the terminator gives a PageResponder when an upstream
// failed validation and the policy says block or prompt (DESIGN.md §5).
//
// block: every request gets the block page.
// prompt: every request gets the warning page with a continue token bound to
// this client, host, certificate and the requested path; a request for
// kContinuePath?token=... with a valid token grants the exception (the next
// connection's upstream handshake then tolerates this certificate, see
// ExceptionStore::allowed) and redirects (303) to the original path; an
// invalid token gets a page saying why.
#pragma once

#include <chrono>
#include <functional>

#include "common/ip_address.h"
#include "pages/exception_store.h"
#include "pages/exception_token.h"
#include "pages/page_response.h"
#include "pages/untrusted_pages.h"

namespace tlsgate::pages {

PageHandler make_block_handler(UntrustedSite site);

struct PromptSettings {
  IpAddress client;
  const ExceptionToken* tokens = nullptr;  // outlive the handler
  ExceptionStore* exceptions = nullptr;
  std::chrono::milliseconds exception_ttl{
      std::chrono::hours(1)};  // [upstream] prompt_exception_ttl
  // How long the continue form on a shown page stays usable.
  std::chrono::seconds token_lifetime{std::chrono::minutes(10)};
  std::function<ExceptionToken::Clock::time_point()> now = [] {
    return ExceptionToken::Clock::now();
  };
};

// Falls back to the block page when the site has no certificate fingerprint
// (nothing to bind an exception to). Throws std::invalid_argument when
// `tokens` or `exceptions` is null.
PageHandler make_warning_handler(UntrustedSite site, PromptSettings settings);

// The value of `name` in the query of `path` ("" when absent), undecoded:
// tokens use only URL-safe characters.
std::string_view query_parameter(std::string_view path, std::string_view name);

}  // namespace tlsgate::pages
