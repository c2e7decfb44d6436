#include "ca/ca_issuer.h"

#include <algorithm>
#include <ctime>
#include <string>
#include <string_view>

#include "tls/openssl_text.h"
#include "tls/x509_fields.h"

namespace tlsgate::tls {
namespace {

constexpr time_t kDay = 24 * 3600;
constexpr time_t kClockSkew = 3600;  // clients slightly behind must accept a fresh CA
constexpr std::string_view kUntrustedMarker = "tlsgate UNTRUSTED ";

X509NamePtr ca_name(const char* kind, const ASN1_OCTET_STRING* key_id, bool untrusted) {
  // The key id in the CN tells installations apart in a client's trust list;
  // the untrusted CA says what it is wherever a client shows its name.
  std::string cn = std::string(untrusted ? kUntrustedMarker : "tlsgate ") + kind + " CA " +
                   hex_lower(ASN1_STRING_get0_data(key_id), 4) +
                   (untrusted ? " (do not install)" : "");
  X509NamePtr name(X509_NAME_new());
  auto add = [&](int nid, const std::string& value) {
    if (!name || X509_NAME_add_entry_by_NID(name.get(), nid, MBSTRING_UTF8,
                                            reinterpret_cast<const unsigned char*>(value.data()),
                                            static_cast<int>(value.size()), -1, 0) != 1) {
      throw_openssl_error("cannot build CA name");
    }
  };
  add(NID_organizationName, untrusted ? "tlsgate (untrusted)" : "tlsgate");
  add(NID_commonName, cn);
  return name;
}

// The issuer's subjectKeyIdentifier as written in it, or ours when it has none.
Asn1OctetStringPtr issuer_key_id(X509* issuer) {
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(issuer)) {
    Asn1OctetStringPtr copy(ASN1_OCTET_STRING_dup(ski));
    if (!copy) throw_openssl_error("cannot copy subjectKeyIdentifier");
    return copy;
  }
  drain_openssl_errors();
  return public_key_id(issuer);
}

// issuer == nullptr: self-signed.
IssuedCa issue_ca(const char* kind, const char* curve, time_t lifetime, const char* constraints,
                  X509* issuer, EVP_PKEY* issuer_key, bool untrusted) {
  IssuedCa ca{X509Ptr(X509_new()), generate_ec_key(curve)};
  X509* cert = ca.cert.get();
  if (!cert || X509_set_version(cert, X509_VERSION_3) != 1 ||
      X509_set_pubkey(cert, ca.key.get()) != 1) {
    throw_openssl_error("cannot build CA certificate");
  }
  set_random_serial(cert);
  const time_t now = std::time(nullptr);
  time_t not_after = now + lifetime;
  if (issuer) not_after = std::min(not_after, to_time_t(X509_get0_notAfter(issuer)));
  set_validity(cert, now - kClockSkew, not_after);

  Asn1OctetStringPtr key_id = public_key_id(cert);
  X509NamePtr subject = ca_name(kind, key_id.get(), untrusted);
  if (X509_set_subject_name(cert, subject.get()) != 1 ||
      X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : subject.get()) != 1) {
    throw_openssl_error("cannot set CA names");
  }
  add_extension(cert, make_extension(NID_basic_constraints, constraints).get());
  add_extension(cert, make_extension(NID_key_usage, "critical,keyCertSign,cRLSign").get());
  add_extension(cert, make_subject_key_id(key_id.get()).get());
  if (issuer) add_extension(cert, make_authority_key_id(issuer_key_id(issuer).get()).get());
  sign_certificate(cert, issuer ? issuer_key : ca.key.get(), EVP_sha384());
  return ca;
}

}  // namespace

IssuedCa issue_root(bool untrusted) {
  return issue_ca("Root", "P-384", 3650 * kDay, "critical,CA:TRUE,pathlen:1", nullptr, nullptr,
                  untrusted);
}

IssuedCa issue_intermediate(X509* issuer, EVP_PKEY* issuer_key, bool untrusted) {
  return issue_ca("Intermediate", "P-256", 1826 * kDay, "critical,CA:TRUE,pathlen:0", issuer,
                  issuer_key, untrusted);
}

bool is_untrusted_name(X509* cert) {
  const std::string subject = rfc2253(X509_get_subject_name(cert));
  return subject.find(kUntrustedMarker) != std::string::npos;
}

}  // namespace tlsgate::tls
