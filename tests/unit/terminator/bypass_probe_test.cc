// The bypass prober (bypass integrity, DESIGN.md §2) against a local TLS
// server: a name the server's certificate covers is proven, any other is not,
// nothing listening is not; results are cached, and connections waiting for
// the same (address, port, name) share one probe.
#include "terminator/bypass_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "../tls/test_pki.h"
#include "common/unique_fd.h"
#include "validation/upstream_verifier.h"

namespace tlsgate::terminator {
namespace {

using namespace std::chrono_literals;
namespace t = tls::testing;

// Serves TLS handshakes on 127.0.0.1 (one connection at a time) with a leaf
// for bank.test, or accepts and never answers (`stall`).
class LocalTlsServer {
 public:
  LocalTlsServer(const t::TestPki& pki, bool stall) : stall_(stall) {
    leaf_ = pki.leaf(t::server_spec("DNS:bank.test"));
    ctx_.reset(SSL_CTX_new(TLS_server_method()));
    SSL_CTX_use_certificate(ctx_.get(), leaf_.get());
    SSL_CTX_use_PrivateKey(ctx_.get(), pki.leaf_key.get());
    X509_up_ref(pki.intermediate.cert.get());
    SSL_CTX_add_extra_chain_cert(ctx_.get(), pki.intermediate.cert.get());
    listener_.reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    bind(listener_.get(), reinterpret_cast<sockaddr*>(&sa), len);
    listen(listener_.get(), 16);
    getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~LocalTlsServer() {
    stop_ = true;
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  void run() {
    // A client that gave up early must not kill the test with SIGPIPE.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    while (!stop_) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (poll(&p, 1, 50) != 1) continue;
      UniqueFd fd(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!fd) continue;
      ++accepted_;
      if (stall_) {
        stalled_.push_back(std::move(fd));
        continue;
      }
      tls::SslPtr ssl(SSL_new(ctx_.get()));
      SSL_set_fd(ssl.get(), fd.get());
      if (SSL_accept(ssl.get()) == 1) SSL_shutdown(ssl.get());
    }
  }

  bool stall_;
  tls::X509Ptr leaf_;
  tls::SslCtxPtr ctx_;
  UniqueFd listener_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::vector<UniqueFd> stalled_;
  std::thread thread_;
};

class BypassProberTest : public testing::Test {
 protected:
  BypassProberTest()
      : verifier_(pki_.write_root_bundle(dir_.path())), ctx_(verifier_.make_upstream_ctx()) {}

  static Endpoint loopback(uint16_t port) {
    return Endpoint{IpAddress::v4(in_addr{htonl(INADDR_LOOPBACK)}), port};
  }

  // The result, whether cached or from a probe thread.
  static ProbeResult ask(BypassProber& prober, const Endpoint& server, const std::string& name) {
    auto promise = std::make_shared<std::promise<ProbeResult>>();
    auto future = promise->get_future();
    auto cached = prober.lookup_or_probe(
        server, name, [promise](const ProbeResult& r) { promise->set_value(r); });
    if (cached) return *cached;
    EXPECT_EQ(future.wait_for(30s), std::future_status::ready) << "no answer from the prober";
    return future.get();
  }

  t::TempDir dir_;
  t::TestPki pki_;
  tls::UpstreamVerifier verifier_;
  tls::SslCtxPtr ctx_;
};

TEST_F(BypassProberTest, ProvesANameTheServerHasAndCachesIt) {
  LocalTlsServer server(pki_, false);
  BypassProber prober(ctx_.get(), {});
  ProbeResult r = ask(prober, loopback(server.port()), "bank.test");
  EXPECT_TRUE(r.verified) << r.detail;
  EXPECT_EQ(server.accepted(), 1);
  // Cached: answered at once, no second connection.
  auto cached = prober.lookup_or_probe(loopback(server.port()), "bank.test",
                                       [](const ProbeResult&) { FAIL() << "probed again"; });
  ASSERT_TRUE(cached);
  EXPECT_TRUE(cached->verified);
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(prober.probes_run(), 1u);
}

TEST_F(BypassProberTest, RefusesANameTheServerDoesNotHave) {
  LocalTlsServer server(pki_, false);
  BypassProber prober(ctx_.get(), {});
  ProbeResult r = ask(prober, loopback(server.port()), "evil.test");
  EXPECT_FALSE(r.verified);
  EXPECT_NE(r.detail.find("hostname_mismatch"), std::string::npos) << r.detail;
}

TEST_F(BypassProberTest, RefusesAServerTheGatewayDoesNotTrust) {
  LocalTlsServer server(pki_, false);
  t::TestPki other("Other");
  tls::UpstreamVerifier other_trust(other.write_root_bundle(dir_.path() / ".."));
  tls::SslCtxPtr other_ctx = other_trust.make_upstream_ctx();
  BypassProber prober(other_ctx.get(), {});
  ProbeResult r = ask(prober, loopback(server.port()), "bank.test");
  EXPECT_FALSE(r.verified);
}

TEST_F(BypassProberTest, NothingListeningIsNotProof) {
  uint16_t port;
  {
    LocalTlsServer gone(pki_, false);
    port = gone.port();
  }
  BypassProber prober(ctx_.get(), {});
  ProbeResult r = ask(prober, loopback(port), "bank.test");
  EXPECT_FALSE(r.verified);
  EXPECT_NE(r.detail.find("connect"), std::string::npos) << r.detail;
}

TEST_F(BypassProberTest, ASilentServerEndsTheProbeAtItsTimeout) {
  LocalTlsServer server(pki_, true);
  BypassProberSettings settings;
  settings.timeout = 300ms;
  BypassProber prober(ctx_.get(), settings);
  ProbeResult r = ask(prober, loopback(server.port()), "bank.test");
  EXPECT_FALSE(r.verified);
}

TEST_F(BypassProberTest, WaitersForTheSameNameShareOneProbe) {
  LocalTlsServer server(pki_, false);
  BypassProberSettings settings;
  settings.threads = 1;
  BypassProber prober(ctx_.get(), settings);
  std::vector<std::future<ProbeResult>> answers;
  for (int i = 0; i < 5; ++i) {
    auto promise = std::make_shared<std::promise<ProbeResult>>();
    answers.push_back(promise->get_future());
    auto cached =
        prober.lookup_or_probe(loopback(server.port()), "bank.test",
                               [promise](const ProbeResult& r) { promise->set_value(r); });
    if (cached) promise->set_value(*cached);
  }
  for (auto& a : answers) {
    ASSERT_EQ(a.wait_for(30s), std::future_status::ready);
    EXPECT_TRUE(a.get().verified);
  }
  EXPECT_EQ(server.accepted(), 1);
  // Another name at the same address is another probe.
  EXPECT_FALSE(ask(prober, loopback(server.port()), "evil.test").verified);
  EXPECT_EQ(server.accepted(), 2);
}

}  // namespace
}  // namespace tlsgate::terminator
