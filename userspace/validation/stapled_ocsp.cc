#include "validation/stapled_ocsp.h"

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "tls/openssl_handles.h"
#include "tls/openssl_text.h"

namespace tlsgate::tls {
namespace {

using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, OpenSslDeleter<OCSP_RESPONSE_free>>;
using OcspBasicRespPtr = std::unique_ptr<OCSP_BASICRESP, OpenSslDeleter<OCSP_BASICRESP_free>>;
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, OpenSslDeleter<OCSP_CERTID_free>>;
using TlsFeaturePtr = std::unique_ptr<TLS_FEATURE, OpenSslDeleter<TLS_FEATURE_free>>;

// RFC 7633: the TLS Feature value of the status_request extension (RFC 6066).
constexpr long kTlsFeatureStatusRequest = 5;

// Clock skew accepted on thisUpdate/nextUpdate.
constexpr long kOcspSkewSeconds = 300;

VerifyFailure unusable(std::string detail) {
  drain_openssl_errors();
  // A staple the server chose to send but that we cannot trust is treated
  // as a defect, as browsers do, not as an absent staple.
  return VerifyFailure{CertErrorClass::other, X509_V_ERR_OCSP_VERIFY_FAILED, 0,
                       "stapled OCSP response " + detail};
}

// No usable status where one was required: a must-staple leaf without a staple.
std::optional<VerifyFailure> absent_staple(const SSL* ssl) {
  X509* leaf = SSL_get0_peer_certificate(ssl);
  if (leaf == nullptr || !requires_stapled_ocsp(leaf)) return std::nullopt;
  return VerifyFailure{CertErrorClass::revocation_unknown, X509_V_ERR_OCSP_VERIFY_NEEDED, 0,
                       "the certificate requires a stapled OCSP response (TLS Feature "
                       "status_request, OCSP must-staple) and the server sent none (" +
                           rfc2253(X509_get_subject_name(leaf)) + ")"};
}

}  // namespace

bool requires_stapled_ocsp(X509* cert) {
  int critical = -1;
  TlsFeaturePtr features(
      static_cast<TLS_FEATURE*>(X509_get_ext_d2i(cert, NID_tlsfeature, &critical, nullptr)));
  if (!features) {
    drain_openssl_errors();
    // -1: no such extension. Present more than once (-2) or undecodable: the
    // issuer meant something by it, so the safe reading is "required".
    return critical != -1;
  }
  for (int i = 0; i < sk_ASN1_INTEGER_num(features.get()); ++i) {
    if (ASN1_INTEGER_get(sk_ASN1_INTEGER_value(features.get(), i)) == kTlsFeatureStatusRequest) {
      return true;
    }
  }
  return false;
}

std::optional<VerifyFailure> stapled_ocsp_failure(SSL* ssl) {
  const unsigned char* der = nullptr;
  const long len = SSL_get_tlsext_status_ocsp_resp(ssl, &der);
  if (der == nullptr || len <= 0) return absent_staple(ssl);

  OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &der, len));
  if (!response) return unusable("is malformed");
  if (OCSP_response_status(response.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return absent_staple(ssl);  // "tryLater" and the like carry no status: as if absent
  }
  OcspBasicRespPtr basic(OCSP_response_get1_basic(response.get()));
  if (!basic) return unusable("is malformed");

  STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl);
  if (chain == nullptr || sk_X509_num(chain) < 2) return unusable("cannot be matched to a chain");
  X509* leaf = sk_X509_value(chain, 0);
  X509* issuer = sk_X509_value(chain, 1);
  X509_STORE* store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));
  // Signed by the issuing CA or a responder it delegated (OCSPSigning EKU).
  if (OCSP_basic_verify(basic.get(), chain, store, 0) <= 0) {
    return unusable("is not signed by the certificate's CA");
  }
  OcspCertIdPtr id(OCSP_cert_to_id(nullptr, leaf, issuer));
  int status = -1, reason = -1;
  ASN1_GENERALIZEDTIME *revoked_at = nullptr, *this_update = nullptr, *next_update = nullptr;
  if (!id || OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, &revoked_at,
                                   &this_update, &next_update) != 1) {
    return unusable("does not cover the server certificate");
  }
  if (OCSP_check_validity(this_update, next_update, kOcspSkewSeconds, -1) != 1) {
    return unusable("is outdated");
  }
  if (status == V_OCSP_CERTSTATUS_REVOKED) {
    std::string detail = "certificate revoked (stapled OCSP";
    if (reason >= 0) detail += std::string(", ") + OCSP_crl_reason_str(reason);
    return VerifyFailure{CertErrorClass::revoked, X509_V_ERR_CERT_REVOKED, 0,
                         detail + ", " + rfc2253(X509_get_subject_name(leaf)) + ")"};
  }
  return std::nullopt;
}

}  // namespace tlsgate::tls
