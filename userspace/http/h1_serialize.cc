#include "http/h1_serialize.h"

#include <algorithm>

#include "http/h1_syntax.h"

namespace tlsgate::http {

namespace {

void append_fields(std::string& out, const HeaderList& headers) {
  for (const HeaderField& f : headers) {
    out += f.name;
    out += ": ";
    out += f.value;
    out += "\r\n";
  }
}

const char* version_text(int minor_version) {
  return minor_version == 0 ? "HTTP/1.0" : "HTTP/1.1";
}

}  // namespace

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 413:
      return "Content Too Large";
    case 421:
      return "Misdirected Request";
    case 431:
      return "Request Header Fields Too Large";
    case 451:
      return "Unavailable For Legal Reasons";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

std::string serialize_request_head(const RequestHead& head, int minor_version) {
  std::string out;
  out.reserve(256);
  out += head.method;
  out += ' ';
  out += head.path;
  out += ' ';
  out += version_text(minor_version);
  out += "\r\n";
  // A head a filter built may name its authority only there.
  if (!head.authority.empty() && !find_header(head.headers, "host")) {
    out += "Host: " + head.authority + "\r\n";
  }
  append_fields(out, head.headers);
  out += "\r\n";
  return out;
}

std::string serialize_response_head(const ResponseHead& head, std::string_view reason,
                                    int minor_version) {
  std::string out;
  out.reserve(256);
  out += version_text(minor_version);
  out += ' ';
  out += std::to_string(head.status);
  out += ' ';
  out += reason;
  out += "\r\n";
  append_fields(out, head.headers);
  out += "\r\n";
  return out;
}

std::string serialize_local_reply(const LocalReply& reply, bool head_request, bool close) {
  ResponseHead head;
  head.status = reply.status;
  head.headers = reply.headers;
  set_content_length(head.headers, reply.body.size());
  remove_field(head.headers, "connection");
  if (close) head.headers.push_back({"Connection", "close"});
  std::string out = serialize_response_head(head, reason_phrase(reply.status), 1);
  if (!head_request) out += reply.body;
  return out;
}

void remove_field(HeaderList& headers, std::string_view name) {
  std::erase_if(headers, [name](const HeaderField& f) { return iequals(f.name, name); });
}

void set_content_length(HeaderList& headers, size_t length) {
  remove_field(headers, "transfer-encoding");
  remove_field(headers, "content-length");
  headers.push_back({"Content-Length", std::to_string(length)});
}

}  // namespace tlsgate::http
