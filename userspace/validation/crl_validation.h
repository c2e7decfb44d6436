// Reading and judging CRLs for the revocation checker (SECURITY-BATTERY case
// 12): where a certificate's CRLs are, whether a fetched CRL may speak for
// it, and what it says. Only complete, direct CRLs are understood (no delta,
// indirect or partitioned-by-reason CRLs: those count as unusable).
// Internal to tls/.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tls/openssl_handles.h"

namespace tlsgate::tls {

struct CrlLocations {
  bool has_distribution_points = false;  // false: nothing to check for this certificate
  std::vector<std::string> http_urls;    // full-name http:// URIs, in certificate order
};
CrlLocations crl_locations(X509* cert);

// A DER CRL (RFC 5280 §4.2.1.13: http CRLs are DER); null when malformed.
X509CrlPtr parse_der_crl(std::string_view der);

// "" when `crl` is a usable, current, complete CRL signed by `issuer` for
// certificates like the subject (a CA certificate or not) at `now`;
// otherwise why it is not.
std::string crl_problem(X509_CRL* crl, X509* issuer, bool subject_is_ca, time_t now);

// The revocation reason ("keyCompromise", "unspecified", ...) when `crl`
// lists `cert`; nullopt when it does not.
std::optional<std::string> revocation_in(X509_CRL* crl, X509* cert);

}  // namespace tlsgate::tls
