#include "validation/http_fetch.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

#include "common/ip_address.h"
#include "common/unique_fd.h"

namespace tlsgate::tls {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxHead = 16 * 1024;

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

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1 << 30));
}

// Waits for `events` on `fd` until `deadline`; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) throw HttpFetchError(std::string("poll: ") + std::strerror(errno));
  }
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

std::string endpoint_text(const sockaddr* sa) {
  auto ip = IpAddress::from_sockaddr(sa);
  if (!ip) return "?";
  const uint16_t port =
      ntohs(sa->sa_family == AF_INET ? reinterpret_cast<const sockaddr_in*>(sa)->sin_port
                                     : reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
  return Endpoint{*ip, port}.to_string();
}

struct AddrInfoFree {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

UniqueFd connect_to(const HttpUrl& url, const HttpFetchLimits& limits) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(url.port);
  if (int rc = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    throw HttpFetchError("cannot resolve " + url.host + ": " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, AddrInfoFree> addresses(found);
  const auto deadline = Clock::now() + limits.connect_timeout;
  std::string last_error = "no address for " + url.host;
  for (const addrinfo* a = addresses.get(); a != nullptr; a = a->ai_next) {
    const std::string where = endpoint_text(a->ai_addr);
    auto ip = IpAddress::from_sockaddr(a->ai_addr);
    if (!ip) continue;
    if (!limits.allow_loopback && forbidden_destination(*ip)) {
      last_error = "refusing to fetch from " + where + " (local, link-local or multicast address)";
      continue;
    }
    UniqueFd fd(::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) throw HttpFetchError(std::string("socket: ") + std::strerror(errno));
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) return fd;
    if (errno != EINPROGRESS) {
      last_error = "connect to " + where + ": " + std::strerror(errno);
      continue;
    }
    if (!wait_for(fd.get(), POLLOUT, deadline)) {
      throw HttpFetchError("connect to " + where + " timed out");
    }
    int error = 0;
    socklen_t len = sizeof error;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
    if (error == 0) return fd;
    last_error = "connect to " + where + ": " + std::strerror(error);
  }
  throw HttpFetchError(last_error);
}

void send_all(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(fd, POLLOUT, deadline)) throw HttpFetchError("sending the request timed out");
      continue;
    }
    throw HttpFetchError(std::string("send: ") + std::strerror(errno));
  }
}

struct ResponseHead {
  int status = 0;
  std::optional<size_t> content_length;
  bool chunked = false;
};

// `head` is the status line and header lines, without the blank line.
ResponseHead parse_head(std::string_view head) {
  ResponseHead out;
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ') {
    throw HttpFetchError("not an HTTP response");
  }
  auto code = status_line.substr(9, 3);
  if (std::from_chars(code.data(), code.data() + 3, out.status).ec != std::errc()) {
    throw HttpFetchError("not an HTTP response");
  }
  while (eol != std::string_view::npos) {
    head.remove_prefix(eol + 2);
    eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (iequals(name, "content-length")) {
      size_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() ||
          (out.content_length && *out.content_length != n)) {
        throw HttpFetchError("invalid Content-Length");
      }
      out.content_length = n;
    } else if (iequals(name, "transfer-encoding") && !iequals(value, "identity")) {
      out.chunked = true;
    }
  }
  return out;
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
  UniqueFd fd = connect_to(url, limits);
  const auto deadline = Clock::now() + limits.read_timeout;
  const bool v6 = IpAddress::parse(url.host).has_value() && url.host.find(':') != std::string::npos;
  std::string host = v6 ? "[" + url.host + "]" : url.host;
  if (url.port != 80) host += ":" + std::to_string(url.port);
  send_all(fd.get(),
           "GET " + url.path + " HTTP/1.0\r\nHost: " + host +
               "\r\nUser-Agent: tlsgate\r\nAccept: application/pkix-crl, */*\r\n"
               "Connection: close\r\n\r\n",
           deadline);

  std::string data;
  std::optional<ResponseHead> head;
  size_t body_start = 0;
  std::array<char, 16384> buf{};
  while (true) {
    ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(fd.get(), POLLIN, deadline)) {
        throw HttpFetchError("reading the response from " + url.host + " timed out");
      }
      continue;
    }
    if (n < 0) throw HttpFetchError(std::string("recv: ") + std::strerror(errno));
    if (n == 0) break;
    data.append(buf.data(), static_cast<size_t>(n));
    if (!head) {
      size_t end = data.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (data.size() > kMaxHead) throw HttpFetchError("response headers too large");
        continue;
      }
      head = parse_head(std::string_view(data).substr(0, end));
      body_start = end + 4;
      if (head->status != 200) {
        throw HttpFetchError("HTTP status " + std::to_string(head->status));
      }
      if (head->chunked) throw HttpFetchError("chunked response to an HTTP/1.0 request");
      if (head->content_length && *head->content_length > limits.max_body_bytes) {
        throw HttpFetchError("response larger than " + std::to_string(limits.max_body_bytes) +
                             " bytes");
      }
    }
    if (data.size() - body_start > limits.max_body_bytes) {
      throw HttpFetchError("response larger than " + std::to_string(limits.max_body_bytes) +
                           " bytes");
    }
  }
  if (!head) throw HttpFetchError("connection closed before a complete response");
  std::string body = data.substr(body_start);
  if (head->content_length && body.size() != *head->content_length) {
    throw HttpFetchError("response truncated (" + std::to_string(body.size()) + " of " +
                         std::to_string(*head->content_length) + " bytes)");
  }
  return body;
}

}  // namespace tlsgate::tls
