#include "load/load_loop.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "load/h2_request.h"

namespace tlsgate::bench {

namespace {

constexpr size_t kMaxDistinctErrors = 32;
constexpr size_t kMaxHeader = 16384;
constexpr std::chrono::milliseconds kExpireEvery{200};

std::string ssl_error_text(SSL* ssl, int ret) {
  const int err = SSL_get_error(ssl, ret);
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    std::string text = buf;
    if (long v = SSL_get_verify_result(ssl); v != X509_V_OK) {
      text += std::string(" (") + X509_verify_cert_error_string(v) + ")";
    }
    return text;
  }
  if (err == SSL_ERROR_SYSCALL) return errno != 0 ? std::strerror(errno) : "unexpected EOF";
  if (err == SSL_ERROR_ZERO_RETURN) return "close_notify";
  return "SSL error " + std::to_string(err);
}

// Content-Length of a complete header block (status 200 only); -1: unusable.
int64_t parse_header(std::string_view header, std::string& why) {
  if (header.substr(0, 12) != "HTTP/1.1 200") {
    why = "status: " + std::string(header.substr(0, header.find('\r')));
    return -1;
  }
  std::string lower(header);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  size_t at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) {
    why = "response without Content-Length";
    return -1;
  }
  return std::strtoll(lower.c_str() + at + 17, nullptr, 10);
}

}  // namespace

void LoadCounters::record_error(const std::string& what) {
  std::lock_guard lock(mutex_);
  if (errors_.size() < kMaxDistinctErrors || errors_.count(what)) ++errors_[what];
}

std::map<std::string, uint64_t> LoadCounters::errors() const {
  std::lock_guard lock(mutex_);
  return errors_;
}

void LoadCounters::record_first_byte(double ms) {
  std::lock_guard lock(mutex_);
  first_byte_ms_.push_back(ms);
}

std::vector<double> LoadCounters::first_byte_ms() const {
  std::lock_guard lock(mutex_);
  return first_byte_ms_;
}

tls::SslCtxPtr make_client_ctx(const LoadOptions& options) {
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) throw std::runtime_error("SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx.get(), options.tls_version);
  SSL_CTX_set_max_proto_version(ctx.get(), options.tls_version);
  if (options.resume) {
    // Each connection slot keeps the session it got and offers it next time.
    SSL_CTX_set_session_cache_mode(ctx.get(),
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  } else {
    // Every connection is a full handshake: no session is kept or offered.
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  }
  // One suite on every path (nginx and the proxies would each pick another
  // from the default offer): the client-side record crypto is the same work
  // whatever sits between client and server.
  if (SSL_CTX_set_ciphersuites(ctx.get(), "TLS_AES_128_GCM_SHA256") != 1 ||
      SSL_CTX_set_cipher_list(ctx.get(),
                              "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256") != 1) {
    throw std::runtime_error("cannot set the client's cipher suites");
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx.get(), options.ca_file.c_str(), nullptr) != 1) {
    throw std::runtime_error("cannot load CA file " + options.ca_file);
  }
  // A chain may end at a trusted intermediate: the bench trusts the signing
  // intermediates, so the client checks the same one P-256 signature on every
  // path, whatever root is above (bench/README.md, "Client").
  X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx.get()), X509_V_FLAG_PARTIAL_CHAIN);
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  static const unsigned char kAlpnH2[] = {2, 'h', '2'};
  if (options.h2) {
    SSL_CTX_set_alpn_protos(ctx.get(), kAlpnH2, sizeof kAlpnH2);
  } else {
    SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof kAlpn);
  }
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

LoadLoop::LoadLoop(const LoadOptions& options, SSL_CTX* ctx, LoadCounters& counters, unsigned slots)
    : options_(options), ctx_(ctx), counters_(counters), epoll_(epoll_create1(EPOLL_CLOEXEC)) {
  if (!epoll_) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
  conns_.resize(slots);
}

LoadLoop::~LoadLoop() = default;

bool LoadLoop::next_name(std::string& out) {
  const size_t i = counters_.next_name.fetch_add(1, std::memory_order_relaxed);
  if (options_.names_once && i >= options_.names.size()) return false;
  out = options_.names[i % options_.names.size()];
  return true;
}

bool LoadLoop::open(Conn& c) {
  ++opened_;  // attempts: hold opens each slot once
  if (counters_.no_new.load(std::memory_order_relaxed)) return false;
  if (!next_name(c.name)) return false;
  const int family = options_.target.ss_family;
  c.fd.reset(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!c.fd) {
    fail(c, std::string("socket: ") + std::strerror(errno), false);
    return false;
  }
  int one = 1;
  if (!options_.nagle) setsockopt(c.fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u32 = static_cast<uint32_t>(&c - conns_.data());
  epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c.fd.get(), &ev);
  c.ssl.reset(SSL_new(ctx_));
  SSL_set_fd(c.ssl.get(), c.fd.get());
  SSL_set_connect_state(c.ssl.get());
  SSL_set_tlsext_host_name(c.ssl.get(), c.name.c_str());
  SSL_set1_host(c.ssl.get(), c.name.c_str());
  if (options_.resume && c.session) SSL_set_session(c.ssl.get(), c.session.get());
  c.first_byte_seen = false;
  c.request = options_.h2
                  ? h2_get_request(c.name, options_.path)
                  : "GET " + options_.path + " HTTP/1.1\r\nHost: " + c.name +
                        "\r\nUser-Agent: tlsgate-bench\r\nConnection: " +
                        (options_.mode == LoadMode::connect ? "close" : "keep-alive") + "\r\n\r\n";
  c.phase = Phase::connecting;
  c.last_progress = std::chrono::steady_clock::now();
  const int r =
      connect(c.fd.get(), reinterpret_cast<const sockaddr*>(&options_.target), options_.target_len);
  if (r != 0 && errno != EINPROGRESS) {
    fail(c, std::string("connect: ") + std::strerror(errno), false);
    return false;
  }
  return true;
}

void LoadLoop::close(Conn& c, bool send_close_notify) {
  if (c.ssl && send_close_notify) SSL_shutdown(c.ssl.get());  // our close_notify, no wait
  c.ssl.reset();
  c.fd.reset();
  c.phase = Phase::free;
  c.header.clear();
  c.header_done = false;
  c.body_left = 0;
}

void LoadLoop::fail(Conn& c, const std::string& why, bool reopen) {
  counters_.failed.fetch_add(1, std::memory_order_relaxed);
  counters_.record_error(why);
  close(c, false);
  if (reopen && options_.mode != LoadMode::hold) open(c);  // keep the load up
}

void LoadLoop::response_done(Conn& c) {
  counters_.completed.fetch_add(1, std::memory_order_relaxed);
  c.header.clear();
  c.header_done = false;
  switch (options_.mode) {
    case LoadMode::connect:
      // TLS 1.3 tickets came with the response: the session to offer next.
      if (options_.resume) c.session.reset(SSL_get1_session(c.ssl.get()));
      close(c, true);
      open(c);
      return;
    case LoadMode::bulk:
      c.phase = Phase::writing;
      return;
    case LoadMode::hold:
      counters_.established.fetch_add(1, std::memory_order_relaxed);
      c.phase = Phase::idle;
      return;
  }
}

bool LoadLoop::read_response(Conn& c) {
  static thread_local char buf[65536];
  while (true) {
    ERR_clear_error();
    const int n = SSL_read(c.ssl.get(), buf, sizeof buf);
    if (n <= 0) {
      const int err = SSL_get_error(c.ssl.get(), n);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return false;
      fail(c, "reading response: " + ssl_error_text(c.ssl.get(), n));
      return false;
    }
    c.last_progress = std::chrono::steady_clock::now();
    if (!c.first_byte_seen) {
      c.first_byte_seen = true;
      if (counters_.sampling.load(std::memory_order_relaxed)) {
        counters_.record_first_byte(
            std::chrono::duration<double, std::milli>(c.last_progress - c.request_sent).count());
      }
    }
    std::string_view data(buf, static_cast<size_t>(n));
    if (options_.h2) {
      c.header.append(data);
      uint64_t body = 0;
      std::string why;
      const H2ResponseState state = h2_read_response(c.header, body, why);
      counters_.body_bytes.fetch_add(body, std::memory_order_relaxed);
      if (state == H2ResponseState::done) return true;
      if (state == H2ResponseState::failed || c.header.size() > kMaxHeader) {
        fail(c, state == H2ResponseState::failed ? why : "h2 frame too large");
        return false;
      }
      continue;
    }
    if (!c.header_done) {
      c.header.append(data);
      const size_t end = c.header.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (c.header.size() > kMaxHeader) {
          fail(c, "response header too large");
          return false;
        }
        continue;
      }
      std::string why;
      const int64_t length = parse_header(std::string_view(c.header).substr(0, end + 2), why);
      if (length < 0) {
        fail(c, why);
        return false;
      }
      c.header_done = true;
      c.body_left = static_cast<uint64_t>(length);
      data = std::string_view(c.header).substr(end + 4);
    }
    const uint64_t body = std::min<uint64_t>(c.body_left, data.size());
    c.body_left -= body;
    counters_.body_bytes.fetch_add(body, std::memory_order_relaxed);
    if (c.body_left == 0) return true;
  }
}

void LoadLoop::advance(Conn& c) {
  while (true) {
    switch (c.phase) {
      case Phase::free:
        return;
      case Phase::connecting: {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          fail(c, std::string("connect: ") + std::strerror(err));
          return;
        }
        c.phase = Phase::handshaking;
        c.last_progress = std::chrono::steady_clock::now();
        continue;
      }
      case Phase::handshaking: {
        ERR_clear_error();
        const int r = SSL_do_handshake(c.ssl.get());
        if (r != 1) {
          const int err = SSL_get_error(c.ssl.get(), r);
          if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
          fail(c, "handshake: " + ssl_error_text(c.ssl.get(), r));
          return;
        }
        if (SSL_session_reused(c.ssl.get()) == 1) {
          counters_.resumed.fetch_add(1, std::memory_order_relaxed);
        }
        c.phase = Phase::writing;
        c.last_progress = std::chrono::steady_clock::now();
        continue;
      }
      case Phase::writing: {
        ERR_clear_error();
        const int r = SSL_write(c.ssl.get(), c.request.data(), static_cast<int>(c.request.size()));
        if (r <= 0) {
          const int err = SSL_get_error(c.ssl.get(), r);
          if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
          fail(c, "writing request: " + ssl_error_text(c.ssl.get(), r));
          return;
        }
        c.request_sent = std::chrono::steady_clock::now();
        c.first_byte_seen = false;
        c.phase = Phase::reading;
        continue;
      }
      case Phase::reading:
        if (!read_response(c)) return;  // waiting, or failed (and replaced)
        response_done(c);
        if (c.phase != Phase::writing) return;  // closed and reopened, or idle
        continue;
      case Phase::idle: {
        char byte;
        ERR_clear_error();
        const int n = SSL_read(c.ssl.get(), &byte, 1);
        const int err = SSL_get_error(c.ssl.get(), n);
        if (n <= 0 && (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)) return;
        if (n > 0 && options_.h2) continue;  // a late frame (SETTINGS ACK, WINDOW_UPDATE)
        counters_.dropped.fetch_add(1, std::memory_order_relaxed);
        counters_.established.fetch_sub(1, std::memory_order_relaxed);
        counters_.record_error("held connection ended by the peer");
        close(c, false);
        return;
      }
    }
  }
}

void LoadLoop::expire_stalled() {
  const auto now = std::chrono::steady_clock::now();
  const auto limit = std::chrono::duration<double>(options_.timeout_s);
  for (Conn& c : conns_) {
    if (c.phase == Phase::free || c.phase == Phase::idle) continue;
    if (now - c.last_progress > limit) {
      fail(c, std::string("no progress for ") + std::to_string(options_.timeout_s) + " s");
    }
  }
}

unsigned LoadLoop::busy() const {
  unsigned n = 0;
  for (const Conn& c : conns_) n += c.phase != Phase::free && c.phase != Phase::idle;
  return n;
}

void LoadLoop::run() {
  const bool hold = options_.mode == LoadMode::hold;
  const unsigned parallel = std::max(1u, options_.hold_parallel / options_.threads);
  auto fill = [&] {
    // hold: open the next connections while fewer than `parallel` handshake
    // (each slot is opened once, in order).
    unsigned in_flight = busy();
    while (opened_ < conns_.size() && in_flight < parallel) {
      if (open(conns_[opened_])) ++in_flight;
    }
  };
  if (!hold) {
    for (Conn& c : conns_) open(c);
  }
  auto next_expire = std::chrono::steady_clock::now() + kExpireEvery;
  epoll_event events[128];
  while (!counters_.stop.load(std::memory_order_relaxed)) {
    if (hold) fill();
    const int n = epoll_wait(epoll_.get(), events, 128, 50);
    for (int i = 0; i < n; ++i) advance(conns_[events[i].data.u32]);
    if (std::chrono::steady_clock::now() >= next_expire) {
      expire_stalled();
      next_expire = std::chrono::steady_clock::now() + kExpireEvery;
    }
    const bool nothing_more = hold ? opened_ >= conns_.size() : options_.names_once;
    if (!reported_idle_ && nothing_more && busy() == 0) {
      reported_idle_ = true;
      counters_.idle_threads.fetch_add(1);
    }
  }
  for (Conn& c : conns_) close(c, false);
}

}  // namespace tlsgate::bench
