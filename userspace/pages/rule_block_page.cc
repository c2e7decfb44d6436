#include "pages/rule_block_page.h"

#include "pages/html.h"

namespace tlsgate::pages {

PageResponse render_rule_block_page(std::string_view host, std::string_view rule,
                                    std::string_view request_path) {
  const std::string h = html_escape(host);
  return forbidden_page(
      page_head("Blocked: " + std::string(host)) +
      "<main><h1>This site is blocked</h1>\n<p>The security policy of this network does not "
      "allow connections to <strong>" +
      h +
      "</strong>. Nothing you send is passed to it.</p>\n<h2>Reason</h2><p>Blocked by rule "
      "<strong>" +
      html_escape(rule) +
      "</strong>.</p>\n<h2>What you can do</h2><ul><li>If you need this site for your work, "
      "contact your network administrator with the host name and the rule above.</li></ul>\n"
      "<p class=\"foot\">Requested: https://" +
      h + html_escape(request_path) + "<br>Reason code: rule:" + html_escape(rule) +
      "</p>\n</main></body></html>\n");
}

PageHandler make_rule_block_handler(std::string host, std::string rule) {
  return [host = std::move(host), rule = std::move(rule)](const PageRequest& request) {
    return render_rule_block_page(host, rule, request.path);
  };
}

}  // namespace tlsgate::pages
