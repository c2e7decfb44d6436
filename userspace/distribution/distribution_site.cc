#include "distribution/distribution_site.h"

#include <charconv>
#include <optional>
#include <set>

#include "ca/ca_control.h"
#include "distribution/ca_formats.h"
#include "pages/html.h"
#include "pages/page_response.h"
#include "tls/openssl_text.h"

namespace tlsgate::distribution {
namespace {

using pages::html_escape;

struct Answer {
  int status = 200;
  std::string content_type;
  std::string body;
  std::string download;  // Content-Disposition file name, "" for none
};

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    default:
      return "Internal Server Error";
  }
}

std::string http_text(const Answer& a, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(a.status) + " " + reason(a.status) + "\r\n";
  for (const auto& [name, value] : pages::page_security_headers(a.content_type)) {
    out += name + ": " + value + "\r\n";
  }
  if (!a.download.empty()) {
    out += "content-disposition: attachment; filename=\"" + a.download + "\"\r\n";
  }
  out += "content-length: " + std::to_string(a.body.size()) + "\r\nconnection: close\r\n\r\n";
  if (!head_only) out += a.body;
  return out;
}

Answer plain(int status, std::string text) {
  return {status, "text/plain; charset=utf-8", std::move(text) + "\n", ""};
}

const char* state_text(tls::CaState s) {
  switch (s) {
    case tls::CaState::staged:
      return "next: install it now, tlsgate will sign with it soon";
    case tls::CaState::active:
      return "current: tlsgate signs with it";
    case tls::CaState::retiring:
      return "previous: still accepted until its retirement";
    case tls::CaState::retired:
      break;
  }
  return "retired";
}

// "tlsgate-<name>-<gen>.<ext>" → the published CA and the extension.
std::optional<std::pair<const tls::PublishedCa*, std::string_view>> find_file(
    std::string_view file, const std::vector<tls::PublishedCa>& cas) {
  for (std::string_view ext : {".pem", ".cer", ".mobileconfig"}) {
    if (!file.ends_with(ext)) continue;
    for (const tls::PublishedCa& ca : cas) {
      if (file == file_name(ca, ext.substr(1))) return std::pair{&ca, ext.substr(1)};
    }
  }
  return std::nullopt;
}

Answer answer_for(std::string_view path, const std::vector<tls::PublishedCa>& cas) {
  if (path == "/" || path == "/index.html") {
    return {200, "text/html; charset=utf-8", install_page(cas), ""};
  }
  if (path == "/ca/all.pem") {
    std::string bundle;
    std::set<std::string> seen;
    for (const tls::PublishedCa& ca : cas) {
      if (seen.insert(tls::sha256_fingerprint(ca.ca->store.root())).second) {
        bundle += pem_of(ca.ca->store.root());
      }
    }
    return {200, "application/x-pem-file", bundle, "tlsgate-all.pem"};
  }
  if (path.starts_with("/ca/")) {
    if (auto found = find_file(path.substr(4), cas)) {
      const auto& [ca, ext] = *found;
      X509* root = ca->ca->store.root();
      if (ext == "pem") return {200, "application/x-pem-file", pem_of(root), file_name(*ca, ext)};
      if (ext == "cer") return {200, "application/pkix-cert", der_of(root), file_name(*ca, ext)};
      const std::string title = "tlsgate CA " + ca->record.id();
      return {200, "application/x-apple-aspen-config", mobileconfig_of(root, title),
              file_name(*ca, ext)};
    }
  }
  return plain(404, "Not Found: the CA certificates are listed at /");
}

std::string link(const tls::PublishedCa& ca, std::string_view ext, std::string_view label) {
  return "<a href=\"/ca/" + html_escape(file_name(ca, ext)) + "\">" + std::string(label) + "</a>";
}

}  // namespace

std::string file_name(const tls::PublishedCa& ca, std::string_view extension) {
  return "tlsgate-" + ca.record.name + "-" + std::to_string(ca.record.generation) + "." +
         std::string(extension);
}

std::string install_page(const std::vector<tls::PublishedCa>& cas) {
  std::string rows;
  for (const tls::PublishedCa& ca : cas) {
    const nlohmann::json root = tls::certificate_json(ca.ca->store.root());
    std::string when;
    if (ca.record.state == tls::CaState::staged && ca.record.activate_at) {
      when = " (from " + tls::rfc3339(*ca.record.activate_at) + ")";
    } else if (ca.record.state == tls::CaState::retiring && ca.record.retire_at) {
      when = " (until " + tls::rfc3339(*ca.record.retire_at) + ")";
    }
    rows += "<tr><td>" + html_escape(ca.record.id()) + "</td><td>" +
            html_escape(std::string(state_text(ca.record.state)) + when) + "</td><td>" +
            html_escape(root["subject"].get<std::string>()) + "<br><small>valid until " +
            html_escape(root["not_after"].get<std::string>()) + "</small></td><td><code>" +
            html_escape(colon_fingerprint(ca.ca->store.root())) + "</code></td><td>" +
            link(ca, "cer", "Windows, Android (.cer)") + "<br>" +
            link(ca, "mobileconfig", "iPhone, iPad, Mac (.mobileconfig)") + "<br>" +
            link(ca, "pem", "Linux, Firefox (.pem)") + "</td></tr>\n";
  }
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>Install the tlsgate certificate</title><style>"
         "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.4em;"
         "vertical-align:top}code{word-break:break-all;font-size:.85em}</style></head><body>"
         "<h1>Install the tlsgate certificate</h1>"
         "<p>This network inspects encrypted traffic. Your device needs the certificate "
         "authority below to trust the connections it makes here. Compare the SHA-256 "
         "fingerprint your device shows with the one on this page before trusting it. Install "
         "every certificate listed: the next one is published before it is used.</p>"
         "<table><tr><th>CA</th><th>Status</th><th>Subject</th><th>SHA-256 fingerprint</th>"
         "<th>Download</th></tr>\n" +
         rows +
         "</table><h2>Steps</h2><ul>"
         "<li><b>Windows</b>: open the .cer file, Install Certificate, Local Machine, place it "
         "in <i>Trusted Root Certification Authorities</i>.</li>"
         "<li><b>macOS</b>: open the .mobileconfig file, then System Settings &gt; Privacy &amp; "
         "Security &gt; Profiles &gt; Install; or import the .pem into the System keychain "
         "and set it to <i>Always Trust</i>.</li>"
         "<li><b>iPhone, iPad</b>: open the .mobileconfig file in Safari, install it in "
         "Settings &gt; General &gt; VPN &amp; Device Management, then enable it in Settings "
         "&gt; General &gt; About &gt; Certificate Trust Settings.</li>"
         "<li><b>Android</b>: Settings &gt; Security &gt; Encryption &amp; credentials &gt; "
         "Install a certificate &gt; CA certificate, and choose the .cer file.</li>"
         "<li><b>Linux</b>: copy the .pem to <code>/usr/local/share/ca-certificates/</code> "
         "with the extension .crt and run <code>update-ca-certificates</code>.</li>"
         "<li><b>Firefox</b>: Settings &gt; Privacy &amp; Security &gt; Certificates &gt; View "
         "Certificates &gt; Authorities &gt; Import, choose the .pem, trust it for websites."
         "</li></ul><p><a href=\"/ca/all.pem\">All certificates in one PEM file</a></p>"
         "</body></html>\n";
}

std::string distribution_response(std::string_view head, const std::vector<tls::PublishedCa>& cas) {
  const std::string_view line = head.substr(0, head.find("\r\n"));
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/1.")) {
    return http_text(plain(400, "Bad Request"), false);
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  target = target.substr(0, target.find('?'));
  const bool head_only = method == "HEAD";
  if (method != "GET" && !head_only) {
    return http_text(plain(405, "Method Not Allowed: GET only"), false);
  }
  try {
    return http_text(answer_for(target, cas), head_only);
  } catch (const std::exception&) {
    return http_text(plain(500, "Internal Server Error"), head_only);
  }
}

}  // namespace tlsgate::distribution
