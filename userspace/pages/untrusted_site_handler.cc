#include "pages/untrusted_site_handler.h"

#include <stdexcept>

namespace tlsgate::pages {

std::string_view query_parameter(std::string_view path, std::string_view name) {
  const size_t q = path.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = path.substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
  }
  return {};
}

PageHandler make_block_handler(UntrustedSite site) {
  return [site = std::move(site)](const PageRequest& request) {
    return render_block_page(site, request.path);
  };
}

PageHandler make_warning_handler(UntrustedSite site, PromptSettings settings) {
  if (settings.tokens == nullptr || settings.exceptions == nullptr) {
    throw std::invalid_argument("warning handler needs a token key and an exception store");
  }
  if (site.certificate.fingerprint_sha256.empty()) return make_block_handler(std::move(site));
  return [site = std::move(site), s = std::move(settings)](const PageRequest& request) {
    const auto now = s.now();
    const std::string_view path = request.path;
    const std::string& fingerprint = site.certificate.fingerprint_sha256;
    if (path.substr(0, path.find('?')) == kContinuePath) {
      if (request.method != "GET" && request.method != "HEAD") {
        PageResponse refused = plain_status_response(405);
        refused.headers.emplace_back("allow", "GET, HEAD");
        return refused;
      }
      TokenCheck check =
          s.tokens->verify(query_parameter(path, "token"), s.client, site.host, fingerprint, now);
      if (!check.valid()) return render_continue_refused_page(site, describe(*check.rejection));
      s.exceptions->grant(s.client, site.host, fingerprint, now + s.exception_ttl);
      return continue_redirect(check.original_path);
    }
    const std::string token =
        s.tokens->issue(s.client, site.host, fingerprint, now + s.token_lifetime, path);
    return render_warning_page(site, path, token, s.exception_ttl);
  };
}

}  // namespace tlsgate::pages
