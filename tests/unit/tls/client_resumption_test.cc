// Client-facing session resumption (issue 17): a client that kept our
// ticket resumes — TLS 1.3 and TLS 1.2, on any connection of the shared
// context (any worker) — only while its session's binding is unchanged and
// the key that sealed the ticket is the current or the previous generation.
#include "forging/client_resumption.h"

#include <gtest/gtest.h>

#include <chrono>

#include "ca/ca_store.h"
#include "forging/client_facing_context.h"
#include "in_memory_tls.h"
#include "test_pki.h"

namespace tlsgate::tls {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using testing::InMemoryTls;
using testing::TempDir;
using SessionPtr = std::unique_ptr<SSL_SESSION, OpenSslDeleter<SSL_SESSION_free>>;

struct Outcome {
  bool completed = false;
  bool resumed = false;
  SessionPtr session;  // the client's, with the ticket it got (if any)
};

class ClientResumption : public ::testing::TestWithParam<int> {
 protected:
  TempDir dir_;
  CaStore ca_ = CaStore::open_or_create(dir_.path());
  LeafForger forger_{ca_};
  testing::TestPki upstream_pki_;
  X509Ptr upstream_ = upstream_pki_.leaf(testing::server_spec("DNS:www.lab.test"));
  std::shared_ptr<const ForgedCert> forged_ = forger_.forge(upstream_.get());
  std::chrono::steady_clock::time_point now_ = std::chrono::steady_clock::now();
  TicketKeys keys_{hours(1), [this] { return now_; }};
  SslCtxPtr server_ctx_ = make_client_facing_ctx(&keys_);
  SslCtxPtr client_ctx_ = client_ctx();
  const std::string binding_ = "www.lab.test|rule a|default#1|leaf";

  SslCtxPtr client_ctx() const {
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca_.root());
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_min_proto_version(ctx.get(), GetParam());
    SSL_CTX_set_max_proto_version(ctx.get(), GetParam());
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT);
    return ctx;
  }

  // One new connection offering `ticket` (null: none); `binding` null: the
  // gateway does not enable resumption on it.
  Outcome connect(SSL_SESSION* ticket, const std::string* binding) {
    InMemoryTls tls(client_ctx_.get(), server_ctx_.get());
    set_forged_identity(tls.server(), *forged_);
    if (binding != nullptr) enable_resumption(tls.server(), binding);
    SSL_set1_host(tls.client(), "www.lab.test");
    SSL_set_tlsext_host_name(tls.client(), "www.lab.test");
    if (ticket != nullptr) SSL_set_session(tls.client(), ticket);
    Outcome out;
    out.completed = tls.handshake();
    if (!out.completed) return out;
    // TLS 1.3 tickets follow the handshake: let the client read them.
    unsigned char byte = 0;
    EXPECT_LE(SSL_read(tls.client(), &byte, 1), 0);
    ERR_clear_error();
    out.resumed = SSL_session_reused(tls.server()) == 1;
    EXPECT_EQ(out.resumed, SSL_session_reused(tls.client()) == 1);
    out.session.reset(SSL_get1_session(tls.client()));
    // A client freeing its SSL without close_notify marks the session unusable.
    SSL_shutdown(tls.client());
    return out;
  }

  static bool has_ticket(const Outcome& o) {
    return o.session && SSL_SESSION_has_ticket(o.session.get()) == 1;
  }
};

TEST_P(ClientResumption, SameBindingResumesOnAnotherConnectionOfTheContext) {
  Outcome first = connect(nullptr, &binding_);
  ASSERT_TRUE(first.completed);
  EXPECT_FALSE(first.resumed);
  ASSERT_TRUE(has_ticket(first));
  // Another connection (any worker: one context for all) with an equal binding.
  const std::string same = binding_;
  Outcome second = connect(first.session.get(), &same);
  ASSERT_TRUE(second.completed);
  EXPECT_TRUE(second.resumed);
  // The client still sees the forged identity of the first handshake.
  X509* peer = SSL_SESSION_get0_peer(second.session.get());
  ASSERT_NE(peer, nullptr);
  EXPECT_EQ(X509_cmp(peer, forged_->leaf.get()), 0);
}

TEST_P(ClientResumption, ResumedConnectionsKeepResuming) {
  Outcome last = connect(nullptr, &binding_);
  for (int i = 0; i < 4; ++i) {
    Outcome next = connect(last.session.get(), &binding_);
    ASSERT_TRUE(next.completed);
    EXPECT_TRUE(next.resumed) << "connection " << i + 2;
    last = std::move(next);
  }
}

TEST_P(ClientResumption, ChangedBindingMeansAFullHandshakeAndANewTicket) {
  Outcome first = connect(nullptr, &binding_);
  ASSERT_TRUE(has_ticket(first));
  const std::string rotated = "www.lab.test|rule a|default#2|leaf";
  Outcome second = connect(first.session.get(), &rotated);
  ASSERT_TRUE(second.completed);
  EXPECT_FALSE(second.resumed);
  ASSERT_TRUE(has_ticket(second));
  Outcome third = connect(second.session.get(), &rotated);
  EXPECT_TRUE(third.resumed);
  // The old ticket stays refused.
  EXPECT_FALSE(connect(first.session.get(), &rotated).resumed);
}

TEST_P(ClientResumption, ConnectionWithoutResumptionIssuesAndAcceptsNoTicket) {
  Outcome plain = connect(nullptr, nullptr);
  ASSERT_TRUE(plain.completed);
  EXPECT_FALSE(has_ticket(plain));
  Outcome issued = connect(nullptr, &binding_);
  ASSERT_TRUE(has_ticket(issued));
  Outcome offered = connect(issued.session.get(), nullptr);
  ASSERT_TRUE(offered.completed);
  EXPECT_FALSE(offered.resumed);
}

TEST_P(ClientResumption, TicketOfThePreviousKeyGenerationResumesThenExpires) {
  Outcome first = connect(nullptr, &binding_);
  ASSERT_TRUE(has_ticket(first));
  now_ += minutes(61);  // one rotation: the ticket's key is the previous generation
  Outcome second = connect(first.session.get(), &binding_);
  EXPECT_TRUE(second.resumed);
  now_ += minutes(61);  // two rotations: that key is gone
  Outcome third = connect(first.session.get(), &binding_);
  ASSERT_TRUE(third.completed);
  EXPECT_FALSE(third.resumed);
}

TEST_P(ClientResumption, TicketFromAnotherProcessIsNotAccepted) {
  Outcome first = connect(nullptr, &binding_);
  ASSERT_TRUE(has_ticket(first));
  TicketKeys other_keys;  // another gateway process: other random keys
  server_ctx_ = make_client_facing_ctx(&other_keys);
  Outcome second = connect(first.session.get(), &binding_);
  ASSERT_TRUE(second.completed);
  EXPECT_FALSE(second.resumed);
  server_ctx_.reset();  // before other_keys goes
}

INSTANTIATE_TEST_SUITE_P(Versions, ClientResumption,
                         ::testing::Values(TLS1_3_VERSION, TLS1_2_VERSION),
                         [](const auto& test_case) {
                           return std::string(test_case.param == TLS1_3_VERSION ? "tls13"
                                                                                : "tls12");
                         });

TEST(TicketKeys, RotateHourlyAndAcceptTwoGenerations) {
  auto now = std::chrono::steady_clock::now();
  TicketKeys keys(hours(1), [&] { return now; });
  TicketKeys::Key first = keys.current();
  EXPECT_EQ(keys.current().name, first.name);
  auto found = keys.find(first.name);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->renew);
  EXPECT_EQ(found->key.aes, first.aes);

  now += minutes(60);
  TicketKeys::Key second = keys.current();
  EXPECT_NE(second.name, first.name);
  EXPECT_NE(second.aes, first.aes);
  EXPECT_NE(second.hmac, first.hmac);
  found = keys.find(first.name);
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->renew);

  now += minutes(60);
  EXPECT_FALSE(keys.find(first.name));
  EXPECT_TRUE(keys.find(second.name));
  std::array<uint8_t, 16> unknown{};
  EXPECT_FALSE(keys.find(unknown));
}

TEST(TicketKeys, IdleForTwoPeriodsKeepsNoOldGeneration) {
  auto now = std::chrono::steady_clock::now();
  TicketKeys keys(hours(1), [&] { return now; });
  TicketKeys::Key first = keys.current();
  now += hours(3);
  EXPECT_FALSE(keys.find(first.name));
}

TEST(TicketKeys, EveryInstanceHasItsOwnKeys) {
  TicketKeys a;
  TicketKeys b;
  EXPECT_NE(a.current().name, b.current().name);
  EXPECT_NE(a.current().aes, b.current().aes);
  EXPECT_EQ(a.lifetime(), hours(1));
}

}  // namespace
}  // namespace tlsgate::tls
