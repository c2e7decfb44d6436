// CertErrorClass names and the X509_V_ERR_* → class table (DESIGN.md §5).
#include <openssl/x509_vfy.h>

#include "validation/upstream_verifier.h"

namespace tlsgate::tls {

std::string_view to_string(CertErrorClass c) {
  switch (c) {
    case CertErrorClass::expired:
      return "expired";
    case CertErrorClass::not_yet_valid:
      return "not_yet_valid";
    case CertErrorClass::hostname_mismatch:
      return "hostname_mismatch";
    case CertErrorClass::self_signed:
      return "self_signed";
    case CertErrorClass::untrusted_root:
      return "untrusted_root";
    case CertErrorClass::incomplete_chain:
      return "incomplete_chain";
    case CertErrorClass::invalid_signature:
      return "invalid_signature";
    case CertErrorClass::not_a_ca:
      return "not_a_ca";
    case CertErrorClass::bad_usage:
      return "bad_usage";
    case CertErrorClass::revoked:
      return "revoked";
    case CertErrorClass::revocation_unknown:
      return "revocation_unknown";
    case CertErrorClass::weak_key:
      return "weak_key";
    case CertErrorClass::weak_signature:
      return "weak_signature";
    case CertErrorClass::bad_protocol:
      return "bad_protocol";
    case CertErrorClass::no_certificate:
      return "no_certificate";
    case CertErrorClass::client_cert_required:
      return "client_cert_required";
    case CertErrorClass::other:
      return "other";
  }
  return "other";
}

std::span<const CertErrorClass> all_cert_error_classes() {
  static constexpr CertErrorClass kAll[] = {
      CertErrorClass::expired,
      CertErrorClass::not_yet_valid,
      CertErrorClass::hostname_mismatch,
      CertErrorClass::self_signed,
      CertErrorClass::untrusted_root,
      CertErrorClass::incomplete_chain,
      CertErrorClass::invalid_signature,
      CertErrorClass::not_a_ca,
      CertErrorClass::bad_usage,
      CertErrorClass::revoked,
      CertErrorClass::revocation_unknown,
      CertErrorClass::weak_key,
      CertErrorClass::weak_signature,
      CertErrorClass::bad_protocol,
      CertErrorClass::no_certificate,
      CertErrorClass::client_cert_required,
      CertErrorClass::other,
  };
  return kAll;
}

CertErrorClass classify_x509_error(int x509_verify_error, int depth) {
  switch (x509_verify_error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return CertErrorClass::expired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return CertErrorClass::not_yet_valid;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH:
      return CertErrorClass::hostname_mismatch;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return CertErrorClass::self_signed;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
      return CertErrorClass::untrusted_root;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
      // At the leaf: the server did not send the intermediate. Above it: the
      // chain was complete up to a CA that is not in the trust store.
      return depth == 0 ? CertErrorClass::incomplete_chain : CertErrorClass::untrusted_root;
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return CertErrorClass::incomplete_chain;
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_NO_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_UNSUPPORTED_SIGNATURE_ALGORITHM:
    case X509_V_ERR_SIGNATURE_ALGORITHM_MISMATCH:
    case X509_V_ERR_SIGNATURE_ALGORITHM_INCONSISTENCY:
      return CertErrorClass::invalid_signature;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_INVALID_NON_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_PATHLEN_INVALID_FOR_NON_CA:
    case X509_V_ERR_KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA:
      return CertErrorClass::not_a_ca;
    case X509_V_ERR_INVALID_PURPOSE:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_CA_CERT_MISSING_KEY_USAGE:
    case X509_V_ERR_PATHLEN_WITHOUT_KU_KEY_CERT_SIGN:
      return CertErrorClass::bad_usage;
    case X509_V_ERR_CERT_REVOKED:
      return CertErrorClass::revoked;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_OCSP_VERIFY_NEEDED:  // a must-staple leaf without a staple
      return CertErrorClass::revocation_unknown;
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
      return CertErrorClass::weak_key;
    case X509_V_ERR_CA_MD_TOO_WEAK:
      return CertErrorClass::weak_signature;
    default:
      return CertErrorClass::other;
  }
}

}  // namespace tlsgate::tls
