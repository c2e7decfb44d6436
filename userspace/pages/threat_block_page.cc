#include "pages/threat_block_page.h"

#include "pages/html.h"

namespace tlsgate::pages {

PageResponse render_threat_block_page(std::string_view host, std::string_view list) {
  const std::string h = html_escape(host);
  const std::string l = html_escape(list);
  return forbidden_page(
      page_head("Blocked: " + std::string(host)) +
      "<main><h1>This site is blocked as a threat</h1>\n<p>The address you asked for on <strong>" +
      h + "</strong> is on the threat list <strong>" + l +
      "</strong> of this network (malware, phishing or similar). Nothing you send is passed "
      "to it.</p>\n<h2>What you can do</h2><ul><li>Do not retry from another network or "
      "device.</li><li>If you believe this is a mistake, contact your network administrator "
      "with the host name and the list above.</li></ul>\n<p class=\"foot\">Reason code: list:" +
      l + "</p>\n</main></body></html>\n");
}

PageHandler make_threat_block_handler(std::string host, std::string list) {
  return [host = std::move(host), list = std::move(list)](const PageRequest&) {
    return render_threat_block_page(host, list);
  };
}

}  // namespace tlsgate::pages
