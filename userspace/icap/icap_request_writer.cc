#include "icap/icap_request_writer.h"

#include <cstdio>

namespace tlsgate::icap {

namespace {

bool clean(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool clean_fields(const http::HeaderList& headers) {
  for (const auto& f : headers) {
    if (!clean(f.name) || !clean(f.value) || f.name.empty()) return false;
  }
  return true;
}

void append_fields(std::string& out, const http::HeaderList& headers) {
  for (const auto& f : headers) {
    out += f.name;
    out += ": ";
    out += f.value;
    out += "\r\n";
  }
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    default:
      return "Status";
  }
}

// Host for the ICAP request: the service's authority as the URL gives it.
std::string icap_host(const config::IcapUrl& url) {
  bool v6 = url.host.find(':') != std::string::npos;
  return (v6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.port);
}

}  // namespace

std::string write_options_request(const config::IcapUrl& url) {
  return "OPTIONS " + url.to_string() + " ICAP/1.0\r\nHost: " + icap_host(url) +
         "\r\nUser-Agent: tlsgate\r\nEncapsulated: null-body=0\r\n\r\n";
}

std::string write_http_request_head(const http::RequestHead& r) {
  std::string out = r.method;
  out += ' ';
  bool origin_form = !r.path.empty() && r.path.front() == '/';
  if (origin_form && !r.authority.empty()) {
    out += (r.scheme.empty() ? "https" : r.scheme) + "://" + r.authority + r.path;
  } else {
    out += r.path;
  }
  out += " HTTP/1.1\r\n";
  if (!r.authority.empty() && !http::find_header(r.headers, "host")) {
    out += "Host: " + r.authority + "\r\n";
  }
  append_fields(out, r.headers);
  out += "\r\n";
  return out;
}

std::string write_http_response_head(const http::ResponseHead& r) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason_phrase(r.status) + "\r\n";
  append_fields(out, r.headers);
  out += "\r\n";
  return out;
}

std::optional<std::string> write_scan_head(const config::IcapUrl& url, const ScanMessage& m,
                                           const ScanHeadOptions& options) {
  if (m.request == nullptr) return std::nullopt;
  const http::RequestHead& req = *m.request;
  if (!clean(req.method) || !clean(req.authority) || !clean(req.path) || !clean(req.scheme) ||
      !clean_fields(req.headers) || !clean(m.client_ip)) {
    return std::nullopt;
  }
  bool respmod = m.method == config::IcapMethod::respmod;
  if (respmod && (m.response == nullptr || !clean_fields(m.response->headers))) {
    return std::nullopt;
  }
  std::string req_head = write_http_request_head(req);
  std::string res_head = respmod ? write_http_response_head(*m.response) : std::string();
  std::string encapsulated = "req-hdr=0";
  size_t offset = req_head.size();
  if (respmod) encapsulated += ", res-hdr=" + std::to_string(offset);
  offset += res_head.size();
  if (options.has_body) {
    encapsulated += (respmod ? ", res-body=" : ", req-body=") + std::to_string(offset);
  } else {
    encapsulated += ", null-body=" + std::to_string(offset);
  }

  std::string out = respmod ? "RESPMOD " : "REQMOD ";
  out += url.to_string() + " ICAP/1.0\r\nHost: " + icap_host(url) + "\r\nUser-Agent: tlsgate\r\n";
  if (options.allow_204) out += "Allow: 204\r\n";
  if (options.preview && options.has_body) {
    out += "Preview: " + std::to_string(*options.preview) + "\r\n";
  }
  if (!m.client_ip.empty()) out += "X-Client-IP: " + m.client_ip + "\r\n";
  out += "Encapsulated: " + encapsulated + "\r\n\r\n";
  out += req_head;
  out += res_head;
  return out;
}

std::string chunk_size_line(size_t size) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%zx\r\n", size);
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace tlsgate::icap
