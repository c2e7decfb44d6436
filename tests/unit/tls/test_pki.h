// Test PKI for the tls unit tests: keys, certificates with chosen defects,
// and a trusted root + intermediate standing in for a public CA. Built with
// plain OpenSSL calls, independent of the code under test.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "../support/temp_dir.h"
#include "tls/openssl_handles.h"

namespace tlsgate::tls::testing {

EvpPkeyPtr make_ec_key(const char* curve = "P-256");
EvpPkeyPtr make_rsa_key(unsigned bits);

struct CertSpec {
  std::string common_name;  // "" = no CN
  std::string san;          // OpenSSL config form "DNS:a.test,IP:192.0.2.1"; "" = no SAN
  std::chrono::seconds not_before{-std::chrono::hours(1)};  // relative to now
  std::chrono::seconds not_after{std::chrono::hours(24 * 30)};
  // OpenSSL config forms; "" leaves the extension out.
  std::string basic_constraints = "critical,CA:FALSE";
  std::string key_usage = "critical,digitalSignature";
  std::string ext_key_usage = "serverAuth";
  // Any further extensions: {NID, config value}.
  std::vector<std::pair<int, std::string>> extra;
  const EVP_MD* md = nullptr;  // nullptr: SHA-256
};

// Signs `spec` for `subject_key`; issuer nullptr: self-signed.
X509Ptr issue(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer, EVP_PKEY* issuer_key);

CertSpec ca_spec(const std::string& common_name);
CertSpec server_spec(const std::string& san);

struct KeyedCert {
  X509Ptr cert;
  EvpPkeyPtr key;
};

// Root -> intermediate, as a public CA would run it.
struct TestPki {
  explicit TestPki(const std::string& name = "Lab");
  KeyedCert root;
  KeyedCert intermediate;
  EvpPkeyPtr leaf_key;  // default key for leaves

  // A leaf signed by the intermediate with leaf_key.
  X509Ptr leaf(const CertSpec& spec) const;
  // Writes the root as a PEM bundle, returns its path.
  std::filesystem::path write_root_bundle(const std::filesystem::path& dir) const;
};

// DER OCSP response for `leaf` (issued by `issuer`) with `status`
// (V_OCSP_CERTSTATUS_*), signed by `signer`/`signer_key`, valid from an hour
// ago until now + `next_update`.
std::string make_ocsp_response(X509* leaf, X509* issuer, X509* signer, EVP_PKEY* signer_key,
                               int status, std::chrono::seconds next_update);

struct CrlSpec {
  std::vector<X509*> revoked;                                // listed with reason keyCompromise
  std::chrono::seconds last_update{-std::chrono::hours(1)};  // relative to now
  std::chrono::seconds next_update{std::chrono::hours(24)};
  bool only_ca_certs = false;  // issuingDistributionPoint onlyContainsCACerts
  bool delta = false;          // a deltaCRLIndicator
};

// DER CRL naming `issuer` as its issuer, signed with `signer_key` (pass
// another key than the issuer's for a CRL whose signature fails).
std::string make_crl_der(X509* issuer, EVP_PKEY* signer_key, const CrlSpec& spec);

// Temporary directory removed with everything in it.
using TempDir = tlsgate::test_support::TempDir;

// Subject of `cert` in RFC 2253 form.
std::string subject_of(const X509* cert);
time_t not_before_of(const X509* cert);
time_t not_after_of(const X509* cert);
// "DNS:a.test", "IP:192.0.2.1", ... for each subjectAltName entry, in order.
std::vector<std::string> san_entries(X509* cert);

}  // namespace tlsgate::tls::testing
