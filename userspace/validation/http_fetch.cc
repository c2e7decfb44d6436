#include "validation/http_fetch.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>
#include <mutex>

#include "common/ip_address.h"

namespace tlsgate::tls {
namespace {

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

bool is_url_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f;  // no space, control or non-ASCII byte reaches the request line
}

bool forbidden_destination(const IpAddress& ip) {
  const auto& b = ip.bytes();
  if (ip.is_v4()) {
    return b[0] == 127 || b[0] == 0 || (b[0] == 169 && b[1] == 254) || b[0] >= 224;
  }
  const bool zero_prefix = std::all_of(b.begin(), b.begin() + 15, [](uint8_t x) { return x == 0; });
  if (zero_prefix && (b[15] == 0 || b[15] == 1)) return true;                // :: and ::1
  if (b[0] == 0xff || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)) return true;  // multicast, fe80::/10
  const bool v4_mapped = std::all_of(b.begin(), b.begin() + 10, [](uint8_t x) { return x == 0; }) &&
                         b[10] == 0xff && b[11] == 0xff;
  if (v4_mapped) {
    return b[12] == 127 || b[12] == 0 || (b[12] == 169 && b[13] == 254) || b[12] >= 224;
  }
  return false;
}

struct CurlEasyFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlSlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlPtr = std::unique_ptr<CURL, CurlEasyFree>;
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlSlistFree>;

// curl_global_init is not thread-safe in every libcurl build: once, before
// the first handle, on whichever fetcher thread comes first.
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw HttpFetchError("cannot initialize libcurl");
    }
  });
}

// What one transfer collects (the callbacks' user data).
struct Transfer {
  CURL* curl = nullptr;
  const HttpFetchLimits* limits = nullptr;
  std::string body;
  long refused_status = 0;  // a status other than 200: its body is not read
  bool too_large = false;
  std::string refused;  // the last destination refused by policy
};

size_t collect_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    t->refused_status = status;
    return 0;
  }
  if (t->body.size() + n > t->limits->max_body_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  t->body.append(data, n);
  return n;
}

// Every address curl is about to connect to passes here: a URL taken from a
// certificate must not reach the gateway itself or its link.
curl_socket_t open_checked_socket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* t = static_cast<Transfer*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  const auto* sa = reinterpret_cast<const sockaddr*>(&address->addr);
  auto ip = IpAddress::from_sockaddr(sa);
  if (!ip) return CURL_SOCKET_BAD;
  if (!t->limits->allow_loopback && forbidden_destination(*ip)) {
    t->refused = ip->to_string();
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

std::string url_text(const HttpUrl& url) {
  const bool v6 = url.host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.port) +
         url.path;
}

template <typename T>
void set(CURL* curl, CURLoption option, T value) {
  if (curl_easy_setopt(curl, option, value) != CURLE_OK) {
    throw HttpFetchError("libcurl refused option " + std::to_string(static_cast<int>(option)));
  }
}

}  // namespace

std::optional<HttpUrl> HttpUrl::parse(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.size() < kScheme.size() || !iequals(url.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  if (!std::all_of(url.begin(), url.end(), is_url_byte)) return std::nullopt;
  url.remove_prefix(kScheme.size());
  url = url.substr(0, url.find('#'));
  const size_t authority_end = url.find_first_of("/?");
  std::string_view authority = url.substr(0, authority_end);
  std::string_view rest = authority_end == std::string_view::npos ? "" : url.substr(authority_end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;

  HttpUrl out;
  std::string_view port_text;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(authority.substr(1, close - 1));
    auto ip = IpAddress::parse(out.host);
    if (!ip || ip->is_v4()) return std::nullopt;
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':' || after.size() == 1) return std::nullopt;
      port_text = after.substr(1);
    }
  } else {
    size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return std::nullopt;
    }
  }
  if (out.host.empty()) return std::nullopt;
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return std::nullopt;
    }
    out.port = static_cast<uint16_t>(port);
  }
  out.path = rest.empty() || rest.front() != '/' ? "/" + std::string(rest) : std::string(rest);
  return out;
}

std::string http_get(const HttpUrl& url, const HttpFetchLimits& limits) {
  init_curl_once();
  CurlPtr curl(curl_easy_init());
  if (!curl) throw HttpFetchError("cannot create a libcurl handle");
  Transfer transfer;
  transfer.curl = curl.get();
  transfer.limits = &limits;
  char error[CURL_ERROR_SIZE] = {};
  CurlSlistPtr headers(curl_slist_append(nullptr, "Accept: application/pkix-crl, */*"));
  if (!headers) throw HttpFetchError("cannot allocate request headers");
  const std::string where = url_text(url);
  CURL* c = curl.get();
  set(c, CURLOPT_URL, where.c_str());
  // http:// only, also for a redirect (which is not followed anyway).
  set(c, CURLOPT_PROTOCOLS_STR, "http");
  set(c, CURLOPT_REDIR_PROTOCOLS_STR, "http");
  set(c, CURLOPT_FOLLOWLOCATION, 0L);
  set(c, CURLOPT_NOPROXY, "*");  // never an environment proxy
  set(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_0));
  set(c, CURLOPT_USERAGENT, "tlsgate");
  set(c, CURLOPT_HTTPHEADER, headers.get());
  set(c, CURLOPT_NOSIGNAL, 1L);  // fetcher threads: no SIGALRM
  set(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits.connect_timeout.count()));
  // The whole response within read_timeout after the connection (curl's
  // timeout counts from the start).
  set(c, CURLOPT_TIMEOUT_MS,
      static_cast<long>((limits.connect_timeout + limits.read_timeout).count()));
  set(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits.max_body_bytes));
  set(c, CURLOPT_WRITEFUNCTION, collect_body);
  set(c, CURLOPT_WRITEDATA, &transfer);
  set(c, CURLOPT_OPENSOCKETFUNCTION, open_checked_socket);
  set(c, CURLOPT_OPENSOCKETDATA, &transfer);
  set(c, CURLOPT_ERRORBUFFER, error);

  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  const std::string too_large =
      "response larger than " + std::to_string(limits.max_body_bytes) + " bytes";
  if (transfer.refused_status != 0) status = transfer.refused_status;
  // A status other than 200 is the answer, whatever its body did (too large,
  // cut short): its body is never read.
  if (status != 0 && status != 200) throw HttpFetchError("HTTP status " + std::to_string(status));
  if (rc != CURLE_OK) {
    if (rc == CURLE_FILESIZE_EXCEEDED || transfer.too_large) throw HttpFetchError(too_large);
    if (!transfer.refused.empty() && rc == CURLE_COULDNT_CONNECT) {
      throw HttpFetchError("refusing to fetch from " + transfer.refused +
                           " (local, link-local or multicast address)");
    }
    long connect_errno = 0;
    curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &connect_errno);
    curl_off_t connected_us = 0;
    curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connected_us);
    switch (rc) {
      case CURLE_COULDNT_RESOLVE_HOST:
        throw HttpFetchError("cannot resolve " + url.host);
      case CURLE_COULDNT_CONNECT:
        throw HttpFetchError("connect to " + where + ": " +
                             (connect_errno != 0 ? std::strerror(static_cast<int>(connect_errno))
                                                 : std::string(error)));
      case CURLE_OPERATION_TIMEDOUT:
        throw HttpFetchError(connected_us == 0
                                 ? "connect to " + where + " timed out"
                                 : "reading the response from " + url.host + " timed out");
      case CURLE_PARTIAL_FILE:
        throw HttpFetchError("response truncated (" + std::string(error) + ")");
      case CURLE_GOT_NOTHING:
        throw HttpFetchError("connection closed before a complete response");
      case CURLE_WEIRD_SERVER_REPLY:
      case CURLE_UNSUPPORTED_PROTOCOL:
        throw HttpFetchError("not an HTTP response from " + where);
      default:
        throw HttpFetchError("fetching " + where + ": " +
                             (error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc)));
    }
  }
  if (status != 200) throw HttpFetchError("no HTTP status from " + where);
  return std::move(transfer.body);
}

}  // namespace tlsgate::tls
