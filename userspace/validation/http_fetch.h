// A minimal blocking HTTP/1.0 GET for revocation data (CRLs), on libcurl:
// plain http:// only (CRLs are signed; RFC 5280 §4.2.1.13 names http and
// ldap), bounded connect and transfer times, a size cap, no redirects, no
// proxies (not even from the environment), no cookies, and no connection to
// the gateway's own addresses. Runs on the revocation fetcher threads, never
// on a terminator worker. Internal to validation/.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tlsgate::tls {

struct HttpUrl {
  std::string host;  // name or IP literal, without brackets
  uint16_t port = 80;
  std::string path;  // origin-form: "/" + path and query; never has a space or control byte
  // "http://host[:port][/path][?query][#fragment]"; nullopt for anything
  // else (https, user info, bad port, spaces or control bytes).
  static std::optional<HttpUrl> parse(std::string_view url);
};

struct HttpFetchLimits {
  std::chrono::milliseconds connect_timeout{3000};  // all addresses of the host together
  // The whole response; the fetch as a whole ends after connect_timeout +
  // read_timeout at the latest.
  std::chrono::milliseconds read_timeout{5000};
  size_t max_body_bytes = 8u << 20;
  // Loopback, unspecified, link-local and multicast destinations are refused
  // unless allowed: a URL taken from a certificate must not reach services
  // on the gateway itself (only tests serve CRLs on 127.0.0.1).
  bool allow_loopback = false;
};

class HttpFetchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The body of a 200 response. Throws HttpFetchError saying what went wrong
// ("connect to 192.0.2.1:80 timed out", "HTTP status 404", "response larger
// than 8388608 bytes", ...). Name resolution uses the system resolver.
std::string http_get(const HttpUrl& url, const HttpFetchLimits& limits);

}  // namespace tlsgate::tls
