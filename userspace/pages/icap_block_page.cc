#include "pages/icap_block_page.h"

#include <string>

#include "pages/html.h"

namespace tlsgate::pages {

namespace {

std::string what(bool upload) {
  return upload ? "upload" : "download";
}

std::string foot(std::string_view url, std::string_view service, std::string_view code) {
  return "<p class=\"foot\">URL: " + html_escape(url) + "<br>Scanned by: " + html_escape(service) +
         "<br>Reason code: " + html_escape(code) + "</p>\n";
}

}  // namespace

PageResponse render_icap_infected_page(std::string_view url, std::string_view service,
                                       std::string_view threat, bool upload) {
  std::string named = threat.empty() ? std::string("a threat (the service gave no name)")
                                     : "<strong>" + html_escape(threat) + "</strong>";
  return forbidden_page(
      page_head(upload ? "Upload blocked: threat found" : "Download blocked: threat found") +
      "<main><h1>A threat was found</h1>\n<p>The antivirus service <strong>" +
      html_escape(service) + "</strong> found " + named + " in this " + what(upload) + ".</p>\n" +
      (upload ? "<p>Nothing of it was sent to the server.</p>\n"
              : "<p>Nothing of it was delivered to you.</p>\n") +
      "<h2>What you can do</h2><ul><li>If you believe this is a mistake, contact your network "
      "administrator with the URL and the threat name below.</li></ul>\n" +
      foot(url, service, "icap:infected:" + std::string(threat)) + "</main></body></html>\n");
}

PageResponse render_icap_unscanned_page(std::string_view url, std::string_view service,
                                        std::string_view reason, bool upload) {
  return forbidden_page(
      page_head(upload ? "Upload blocked: not scanned" : "Download blocked: not scanned") +
      "<main><h1>This " + what(upload) +
      " could not be scanned</h1>\n<p>The security policy of "
      "this network lets content through only after the antivirus service <strong>" +
      html_escape(service) +
      "</strong> checked it, and that did not happen: " + html_escape(reason) +
      ".</p>\n<h2>What you can do</h2><ul><li>Try again in a few minutes.</li><li>If it keeps "
      "happening, contact your network administrator with the URL below.</li></ul>\n" +
      foot(url, service, "icap:unscanned") + "</main></body></html>\n");
}

}  // namespace tlsgate::pages
