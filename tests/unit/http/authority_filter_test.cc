#include "http/authority_filter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/exchange_run.h"
#include "memory_port.h"

namespace tlsgate::http {
namespace {

using testing::MemoryPort;

FlowContext with_sni(std::string sni) {
  FlowContext f;
  f.sni = std::move(sni);
  f.server.port = 443;
  return f;
}

FlowContext without_sni(std::vector<std::string> names, uint16_t port = 443) {
  FlowContext f;
  f.upstream_names = std::move(names);
  f.server.port = port;
  return f;
}

TEST(AuthorityMatchesFlow, TheSniInAnyCaseWithATrailingDotOrTheDefaultPort) {
  FlowContext f = with_sni("www.example.com");
  for (const char* ok : {"www.example.com", "WWW.Example.COM", "www.example.com.",
                         "www.example.com:443", "www.example.com.:443"}) {
    EXPECT_TRUE(authority_matches_flow(ok, f)) << ok;
  }
}

TEST(AuthorityMatchesFlow, AnyOtherNameOrPortIsMisdirected) {
  FlowContext f = with_sni("www.example.com");
  for (const char* bad :
       {"other.example.com", "example.com", "www.example.com.evil", "www.example.com:8443",
        "www.example.com:x", "evil.com#www.example.com", "", ":443", "[::1]"}) {
    EXPECT_FALSE(authority_matches_flow(bad, f)) << bad;
  }
}

TEST(AuthorityMatchesFlow, TheFlowsOwnPortIsAsGoodAsTheDefault) {
  FlowContext f = with_sni("www.example.com");
  f.server.port = 8443;
  EXPECT_TRUE(authority_matches_flow("www.example.com:8443", f));
  EXPECT_TRUE(authority_matches_flow("www.example.com:443", f));
  EXPECT_FALSE(authority_matches_flow("www.example.com:9443", f));
}

TEST(AuthorityMatchesFlow, WithoutSniTheUpstreamCertificateNamesDecide) {
  FlowContext f = without_sni({"example.com", "*.example.net", "192.0.2.7", "2001:db8::1"});
  for (const char* ok : {"example.com", "EXAMPLE.com.", "a.example.net", "b.example.net:443",
                         "192.0.2.7", "[2001:db8::1]", "[2001:db8::1]:443", "[2001:DB8:0::1]"}) {
    EXPECT_TRUE(authority_matches_flow(ok, f)) << ok;
  }
  // RFC 6125: the wildcard is one whole leftmost label, never the apex or deeper.
  for (const char* bad : {"www.example.com", "example.net", "a.b.example.net", "192.0.2.8",
                          "[2001:db8::2]", "2001:db8::1"}) {
    EXPECT_FALSE(authority_matches_flow(bad, f)) << bad;
  }
}

TEST(AuthorityMatchesFlow, NoWildcardOverATopLevelDomainNorAPartialLabel) {
  EXPECT_FALSE(authority_matches_flow("example.com", without_sni({"*.com"})));
  EXPECT_FALSE(authority_matches_flow("foo.example.com", without_sni({"f*.example.com"})));
  EXPECT_FALSE(authority_matches_flow("a.example.com", without_sni({})));
}

class NoCallbacks final : public ExchangeCallbacks {
 public:
  void pass_request(ExchangeRun&, const PassedMessage&) override { ++passed; }
  void pass_response(ExchangeRun&, const PassedMessage&) override {}
  void reply(ExchangeRun&, const LocalReply& r) override { replies.push_back(r); }
  int passed = 0;
  std::vector<LocalReply> replies;
};

TEST(AuthorityFilter, AnswersAnotherHost421AndClosesTheConnection) {
  MemoryPort port;
  port.flow_context = with_sni("a.example");
  FilterChain chain;
  chain.push_back(AuthorityFilterFactory().make(port.flow_context));
  NoCallbacks engine;
  RequestHead head;
  head.method = "GET";
  head.path = "/";

  head.authority = "A.EXAMPLE.";
  ExchangeRun::make(port, chain, engine, 0)->start_request(head);
  EXPECT_EQ(engine.passed, 1);

  head.authority = "b.example";
  ExchangeRun::make(port, chain, engine, 0)->start_request(head);
  EXPECT_EQ(engine.passed, 1);
  ASSERT_EQ(engine.replies.size(), 1u);
  EXPECT_EQ(engine.replies[0].status, 421);
  EXPECT_EQ(engine.replies[0].outcome, "misdirected");
  EXPECT_TRUE(engine.replies[0].close_connection);
}

}  // namespace
}  // namespace tlsgate::http
