#include "terminator/bypass_probe.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"
#include "validation/upstream_verifier.h"

namespace tlsgate::terminator {

namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Connects within the deadline, then leaves the socket blocking with
// receive/send timeouts bounded by what is left of it.
std::string connect_until(int fd, const Endpoint& server, Clock::time_point deadline) {
  sockaddr_storage ss{};
  socklen_t len = server.to_sockaddr(ss);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
    return std::string("connect: ") + std::strerror(errno);
  }
  pollfd p{fd, POLLOUT, 0};
  int n = poll(&p, 1, remaining_ms(deadline));
  if (n == 0) return "connect: timeout";
  int err = 0;
  socklen_t err_len = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len);
  if (n < 0 || err != 0) return std::string("connect: ") + std::strerror(n < 0 ? errno : err);
  fcntl(fd, F_SETFL, 0);
  int ms = std::max(remaining_ms(deadline), 1);
  timeval tv{ms / 1000, static_cast<suseconds_t>((ms % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return {};
}

}  // namespace

BypassProber::BypassProber(SSL_CTX* upstream_ctx, BypassProberSettings settings)
    : ctx_(upstream_ctx), settings_(settings) {
  for (unsigned i = 0; i < std::max(1u, settings_.threads); ++i) {
    threads_.emplace_back([this] { run(); });
  }
}

BypassProber::~BypassProber() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

std::optional<ProbeResult> BypassProber::lookup_or_probe(const Endpoint& server,
                                                         const std::string& sni, Callback done) {
  Key key{server.address, server.port, sni};
  std::lock_guard lock(mu_);
  if (auto it = cache_.find(key); it != cache_.end()) {
    if (it->second.expires > Clock::now()) return it->second.result;
    cache_.erase(it);
  }
  auto [it, fresh] = waiting_.try_emplace(key);
  it->second.push_back(std::move(done));
  if (fresh) {
    queue_.push_back(key);
    wake_.notify_one();
  }
  return std::nullopt;
}

uint64_t BypassProber::probes_run() const {
  std::lock_guard lock(mu_);
  return probes_run_;
}

void BypassProber::run() {
  // OpenSSL writes to the socket with write(2): a server that closed early
  // must not take the process down with SIGPIPE (EPIPE is enough).
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Key key = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    const auto& [address, port, sni] = key;
    ProbeResult result = probe(Endpoint{address, port}, sni);
    lock.lock();
    ++probes_run_;
    if (cache_.size() >= settings_.max_cache) cache_.clear();  // bounded; probes are cheap
    cache_[key] = Cached{
        result, Clock::now() + (result.verified ? settings_.verified_ttl : settings_.failed_ttl)};
    std::vector<Callback> callbacks = std::move(waiting_[key]);
    waiting_.erase(key);
    lock.unlock();
    for (auto& cb : callbacks) cb(result);
    lock.lock();
  }
}

ProbeResult BypassProber::probe(const Endpoint& server, const std::string& sni) const {
  const auto deadline = Clock::now() + settings_.timeout;
  UniqueFd fd(socket(server.address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return {false, std::string("socket: ") + std::strerror(errno)};
  if (std::string why = connect_until(fd.get(), server, deadline); !why.empty()) {
    return {false, why};
  }
  tls::SslPtr ssl(SSL_new(ctx_));
  if (!ssl) return {false, "SSL_new failed"};
  std::optional<tls::VerifyFailure> failure;
  try {
    tls::UpstreamVerifier::prepare(ssl.get(), sni, true, &failure);
  } catch (const std::exception& e) {
    return {false, std::string("prepare: ") + e.what()};
  }
  SSL_set_fd(ssl.get(), fd.get());
  ERR_clear_error();  // the error queue is per thread
  int ret = SSL_connect(ssl.get());
  if (ret != 1) {
    tls::VerifyFailure f = tls::classify_handshake_error(ssl.get(), ret);
    return {false, std::string(tls::to_string(f.error_class)) + ": " + f.detail};
  }
  SSL_shutdown(ssl.get());  // best effort: close_notify, no wait for the reply
  return {true, "verified"};
}

}  // namespace tlsgate::terminator
