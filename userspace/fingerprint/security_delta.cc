#include "fingerprint/security_delta.h"

#include <openssl/obj_mac.h>
#include <openssl/tls1.h>

#include <algorithm>
#include <cstdio>

namespace tlsgate::fingerprint {

namespace {

struct GroupInfo {
  uint16_t code;
  const char* name;
  int strength;
  int nid;  // NID_undef: OpenSSL 3.0 has none
};

// IANA "TLS Supported Groups", the ones clients send today.
constexpr GroupInfo kGroups[] = {
    {0x0017, "secp256r1", 2, NID_X9_62_prime256v1},
    {0x0018, "secp384r1", 2, NID_secp384r1},
    {0x0019, "secp521r1", 2, NID_secp521r1},
    {0x001d, "x25519", 2, NID_X25519},
    {0x001e, "x448", 2, NID_X448},
    {0x001f, "brainpoolP256r1tls13", 2, NID_undef},
    {0x0020, "brainpoolP384r1tls13", 2, NID_undef},
    {0x0021, "brainpoolP512r1tls13", 2, NID_undef},
    {0x0100, "ffdhe2048", 1, NID_ffdhe2048},
    {0x0101, "ffdhe3072", 1, NID_ffdhe3072},
    {0x0102, "ffdhe4096", 1, NID_ffdhe4096},
    {0x0103, "ffdhe6144", 1, NID_ffdhe6144},
    {0x0104, "ffdhe8192", 1, NID_ffdhe8192},
    {0x11eb, "SecP256r1MLKEM768", 3, NID_undef},
    {0x11ec, "X25519MLKEM768", 3, NID_undef},
    {0x11ed, "SecP384r1MLKEM1024", 3, NID_undef},
    {0x6399, "X25519Kyber768Draft00", 3, NID_undef},
};

const GroupInfo* find_group(uint16_t code) {
  for (const auto& g : kGroups) {
    if (g.code == code) return &g;
  }
  return nullptr;
}

std::string hex(uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", v);
  return buf;
}

bool offered(const ClientOffer& offer, uint16_t group) {
  return std::find(offer.groups.begin(), offer.groups.end(), group) != offer.groups.end();
}

void version_delta(const ClientOffer& offer, const NegotiatedLeg& up, const NegotiatedLeg& cl,
                   std::vector<DeltaItem>& out) {
  if (up.version == 0 || cl.version == 0 || offer.max_version == 0) return;
  const uint16_t alone = std::min(offer.max_version, up.version);
  if (cl.version < alone) {
    out.push_back({"tls_version", tls_version_name(alone), tls_version_name(cl.version)});
  }
}

void group_delta(const ClientOffer& offer, const NegotiatedLeg& up, const NegotiatedLeg& cl,
                 std::vector<DeltaItem>& out) {
  if (cl.group == 0) return;
  const int have = group_strength(cl.group);
  if (up.group != 0 && offered(offer, up.group) && group_strength(up.group) > have) {
    out.push_back({"key_exchange", group_name(up.group), group_name(cl.group)});
    return;
  }
  for (uint16_t g : offer.groups) {  // in the client's order of preference
    if (group_strength(g) == 3 && have < 3) {
      out.push_back(
          {"key_exchange", group_name(g) + " (offered by the client)", group_name(cl.group)});
      return;
    }
  }
}

void alpn_delta(const ClientOffer& offer, const NegotiatedLeg& cl,
                bool (*relayed)(const std::string&), std::vector<DeltaItem>& out) {
  for (const auto& protocol : offer.alpn) {
    if (protocol == cl.alpn) return;  // nothing the client preferred was dropped
    if (!relayed(protocol)) {
      out.push_back({"alpn", protocol + " (offered by the client, not relayed)",
                     cl.alpn.empty() ? "none" : cl.alpn});
      return;
    }
  }
}

}  // namespace

ClientOffer ClientOffer::from(const ClientHelloFields& hello) {
  ClientOffer o;
  o.max_version = hello.max_version();
  o.groups = hello.groups;
  for (uint16_t g : hello.key_share_groups) {
    if (!offered(o, g)) o.groups.push_back(g);
  }
  o.alpn = hello.alpn;
  o.status_request = hello.status_request;
  return o;
}

std::vector<DeltaItem> security_delta(const ClientOffer& offer, const NegotiatedLeg& upstream,
                                      const NegotiatedLeg& client_leg,
                                      bool (*relayed_alpn)(const std::string&)) {
  std::vector<DeltaItem> out;
  version_delta(offer, upstream, client_leg, out);
  group_delta(offer, upstream, client_leg, out);
  alpn_delta(offer, client_leg, relayed_alpn, out);
  if (offer.status_request && upstream.ocsp_stapled && !client_leg.ocsp_stapled) {
    out.push_back({"ocsp_stapling", "stapled", "none"});
  }
  return out;
}

std::string tls_version_name(uint16_t version) {
  switch (version) {
    case TLS1_3_VERSION:
      return "TLSv1.3";
    case TLS1_2_VERSION:
      return "TLSv1.2";
    case TLS1_1_VERSION:
      return "TLSv1.1";
    case TLS1_VERSION:
      return "TLSv1";
    case 0x0300:
      return "SSLv3";
    default:
      return hex(version);
  }
}

std::string group_name(uint16_t group) {
  const GroupInfo* g = find_group(group);
  return g != nullptr ? g->name : hex(group);
}

int group_strength(uint16_t group) {
  const GroupInfo* g = find_group(group);
  return g != nullptr ? g->strength : 0;
}

uint16_t group_from_nid(int nid) {
  if (nid == NID_undef) return 0;
  for (const auto& g : kGroups) {
    if (g.nid == nid) return g.code;
  }
  // OpenSSL reports groups it has no NID for as TLSEXT_nid_unknown | code point.
  if ((nid & TLSEXT_nid_unknown) != 0) return static_cast<uint16_t>(nid & 0xffff);
  return 0;
}

}  // namespace tlsgate::fingerprint
