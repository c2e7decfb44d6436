// The security delta of an inspected flow (DESIGN.md §7): what the
// connection lost by going through the gateway, compared with what the
// client offered and the server chose on our upstream leg. The gateway's
// two legs are each negotiated on their own; this compares them.
//
//   tls_version    the client leg's version is below what the client offered
//                  and the server chose upstream;
//   key_exchange   the client leg's group is of a weaker kind than the
//                  server's upstream choice (which the client offered too), or
//                  the client offered a post-quantum hybrid group and the
//                  client leg is classical (the gateway cannot offer it, so
//                  what the server would have chosen is unknown: reported as
//                  the client's offer);
//   alpn           the client preferred a protocol the gateway does not relay
//                  over the one it got;
//   ocsp_stapling  the client asked for a stapled OCSP response, the server
//                  stapled one upstream, and the client leg carried none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fingerprint/client_hello_fields.h"

namespace tlsgate::fingerprint {

// What the client offered, kept from its ClientHello until the handshakes end.
struct ClientOffer {
  uint16_t max_version = 0;
  std::vector<uint16_t> groups;  // supported_groups, then any key_share group not listed there
  std::vector<std::string> alpn;
  bool status_request = false;

  static ClientOffer from(const ClientHelloFields& hello);
};

// One leg as negotiated: version and group as TLS code points (0: unknown).
struct NegotiatedLeg {
  uint16_t version = 0;
  uint16_t group = 0;
  std::string alpn;  // "" : none
  bool ocsp_stapled = false;
};

struct DeltaItem {
  std::string property;            // "tls_version", "key_exchange", "alpn", "ocsp_stapling"
  std::string without_inspection;  // what client and server would have had
  std::string with_inspection;     // what the client got
  bool operator==(const DeltaItem&) const = default;
};

// `relayed_alpn`: whether the gateway relays a protocol name (h2, http/1.1).
std::vector<DeltaItem> security_delta(const ClientOffer& offer, const NegotiatedLeg& upstream,
                                      const NegotiatedLeg& client_leg,
                                      bool (*relayed_alpn)(const std::string&));

// "TLSv1.3"; "0x0305" for versions without a name.
std::string tls_version_name(uint16_t version);
// IANA names: "x25519", "secp256r1", "X25519MLKEM768"; "0x1234" for others.
std::string group_name(uint16_t group);
// 3 post-quantum hybrid, 2 elliptic curve, 1 finite field, 0 unknown.
int group_strength(uint16_t group);
// The TLS code point of an OpenSSL group NID (SSL_get_negotiated_group); 0 when unknown.
uint16_t group_from_nid(int nid);

}  // namespace tlsgate::fingerprint
