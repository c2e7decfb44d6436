#include "fingerprint/security_delta.h"

#include <gtest/gtest.h>
#include <openssl/obj_mac.h>

namespace tlsgate::fingerprint {
namespace {

bool relayed(const std::string& p) {
  return p == "h2" || p == "http/1.1";
}

ClientOffer modern_offer() {
  ClientOffer o;
  o.max_version = 0x0304;
  o.groups = {0x001d, 0x0017, 0x0018};
  o.alpn = {"h2", "http/1.1"};
  return o;
}

NegotiatedLeg leg(uint16_t version, uint16_t group, std::string alpn, bool stapled = false) {
  return {version, group, std::move(alpn), stapled};
}

TEST(SecurityDelta, SameOnBothLegsIsNoDelta) {
  EXPECT_TRUE(
      security_delta(modern_offer(), leg(0x0304, 0x001d, "h2"), leg(0x0304, 0x001d, "h2"), relayed)
          .empty());
}

TEST(SecurityDelta, LowerVersionTowardTheClient) {
  auto d =
      security_delta(modern_offer(), leg(0x0304, 0x001d, "h2"), leg(0x0303, 0x001d, "h2"), relayed);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0], (DeltaItem{"tls_version", "TLSv1.3", "TLSv1.2"}));
}

TEST(SecurityDelta, VersionTheClientNeverOfferedIsNoDelta) {
  ClientOffer o = modern_offer();
  o.max_version = 0x0303;
  EXPECT_TRUE(
      security_delta(o, leg(0x0304, 0x001d, "h2"), leg(0x0303, 0x001d, "h2"), relayed).empty());
}

TEST(SecurityDelta, PostQuantumOfferLostIsReported) {
  ClientOffer o = modern_offer();
  o.groups.insert(o.groups.begin(), 0x11ec);
  auto d = security_delta(o, leg(0x0304, 0x001d, "h2"), leg(0x0304, 0x001d, "h2"), relayed);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0], (DeltaItem{"key_exchange", "X25519MLKEM768 (offered by the client)", "x25519"}));
}

TEST(SecurityDelta, WeakerKindOfGroupThanTheServerChose) {
  ClientOffer o = modern_offer();
  o.groups.push_back(0x0100);
  auto d = security_delta(o, leg(0x0304, 0x0017, "h2"), leg(0x0304, 0x0100, "h2"), relayed);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0], (DeltaItem{"key_exchange", "secp256r1", "ffdhe2048"}));
  // Another curve of the same kind is a choice, not a loss.
  EXPECT_TRUE(
      security_delta(o, leg(0x0304, 0x0017, "h2"), leg(0x0304, 0x001d, "h2"), relayed).empty());
}

TEST(SecurityDelta, AlpnPreferredButNotRelayed) {
  ClientOffer o = modern_offer();
  o.alpn = {"acme-tls/1", "h2"};
  auto d = security_delta(o, leg(0x0304, 0x001d, "h2"), leg(0x0304, 0x001d, "h2"), relayed);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0], (DeltaItem{"alpn", "acme-tls/1 (offered by the client, not relayed)", "h2"}));
  // Listed after what the client got: nothing it preferred was lost.
  o.alpn = {"h2", "acme-tls/1"};
  EXPECT_TRUE(
      security_delta(o, leg(0x0304, 0x001d, "h2"), leg(0x0304, 0x001d, "h2"), relayed).empty());
}

TEST(SecurityDelta, StapleDroppedOnlyWhenAskedAndServed) {
  ClientOffer o = modern_offer();
  const auto up = leg(0x0304, 0x001d, "h2", true);
  const auto client = leg(0x0304, 0x001d, "h2", false);
  EXPECT_TRUE(security_delta(o, up, client, relayed).empty());  // not asked for
  o.status_request = true;
  auto d = security_delta(o, up, client, relayed);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0], (DeltaItem{"ocsp_stapling", "stapled", "none"}));
  EXPECT_TRUE(security_delta(o, leg(0x0304, 0x001d, "h2", false), client, relayed).empty());
}

TEST(SecurityDelta, OfferKeepsKeyShareGroupsNotInSupportedGroups) {
  ClientHelloFields f;
  f.groups = {0x001d};
  f.key_share_groups = {0x11ec, 0x001d};
  f.supported_versions = {0x0304, 0x0303};
  EXPECT_EQ(ClientOffer::from(f).groups, (std::vector<uint16_t>{0x001d, 0x11ec}));
  EXPECT_EQ(ClientOffer::from(f).max_version, 0x0304);
}

TEST(SecurityDelta, Names) {
  EXPECT_EQ(group_name(0x001d), "x25519");
  EXPECT_EQ(group_name(0x1234), "0x1234");
  EXPECT_EQ(tls_version_name(0x0304), "TLSv1.3");
  EXPECT_EQ(group_from_nid(NID_X25519), 0x001d);
  EXPECT_EQ(group_from_nid(NID_X9_62_prime256v1), 0x0017);
  EXPECT_EQ(group_from_nid(0x1000000 | 0x11ec), 0x11ec);
  EXPECT_EQ(group_from_nid(NID_undef), 0);
}

}  // namespace
}  // namespace tlsgate::fingerprint
