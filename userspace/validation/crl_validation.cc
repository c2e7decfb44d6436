#include "validation/crl_validation.h"

#include <openssl/ocsp.h>

#include <algorithm>
#include <memory>

#include "tls/openssl_text.h"

namespace tlsgate::tls {
namespace {

using DistPointsPtr = std::unique_ptr<CRL_DIST_POINTS, OpenSslDeleter<CRL_DIST_POINTS_free>>;
using IssuingDistPointPtr =
    std::unique_ptr<ISSUING_DIST_POINT, OpenSslDeleter<ISSUING_DIST_POINT_free>>;
using Asn1EnumeratedPtr = std::unique_ptr<ASN1_ENUMERATED, OpenSslDeleter<ASN1_ENUMERATED_free>>;

// Clock skew accepted on thisUpdate / nextUpdate.
constexpr time_t kSkew = 300;

bool starts_with_http(std::string_view uri) {
  constexpr std::string_view kScheme = "http://";
  return uri.size() > kScheme.size() &&
         std::equal(kScheme.begin(), kScheme.end(), uri.begin(),
                    [](char a, char b) { return a == (b >= 'A' && b <= 'Z' ? b - 'A' + 'a' : b); });
}

std::string time_text(const ASN1_TIME* t) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || ASN1_TIME_print(bio.get(), t) != 1) return "?";
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

CrlLocations crl_locations(X509* cert) {
  CrlLocations out;
  DistPointsPtr points(static_cast<CRL_DIST_POINTS*>(
      X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr)));
  drain_openssl_errors();  // an absent extension leaves nothing to report
  if (!points) return out;
  out.has_distribution_points = sk_DIST_POINT_num(points.get()) > 0;
  for (int i = 0; i < sk_DIST_POINT_num(points.get()); ++i) {
    const DIST_POINT* point = sk_DIST_POINT_value(points.get(), i);
    // A point limited to some reasons or served by another issuer cannot
    // alone say "not revoked".
    if (point->distpoint == nullptr || point->distpoint->type != 0 || point->reasons != nullptr ||
        point->CRLissuer != nullptr) {
      continue;
    }
    const GENERAL_NAMES* names = point->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, j);
      if (name->type != GEN_URI) continue;
      std::string uri(
          reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.uniformResourceIdentifier)),
          static_cast<size_t>(ASN1_STRING_length(name->d.uniformResourceIdentifier)));
      if (starts_with_http(uri) &&
          std::find(out.http_urls.begin(), out.http_urls.end(), uri) == out.http_urls.end()) {
        out.http_urls.push_back(std::move(uri));
      }
    }
  }
  return out;
}

X509CrlPtr parse_der_crl(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  // Trailing bytes after the CRL: not what the CA published.
  if (crl && p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) crl.reset();
  drain_openssl_errors();
  return crl;
}

std::string crl_problem(X509_CRL* crl, X509* issuer, bool subject_is_ca, time_t now) {
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
    return "the CRL is issued by \"" + rfc2253(X509_CRL_get_issuer(crl)) + "\", not by \"" +
           rfc2253(X509_get_subject_name(issuer)) + "\"";
  }
  if ((X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) != 0 &&
      (X509_get_key_usage(issuer) & KU_CRL_SIGN) == 0) {
    return "the issuer's key usage does not include cRLSign";
  }
  if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
    drain_openssl_errors();
    return "the CRL signature does not verify with the issuer's key";
  }
  time_t latest = now + kSkew;
  if (X509_cmp_time(X509_CRL_get0_lastUpdate(crl), &latest) >= 0) {
    return "the CRL is not valid before " + time_text(X509_CRL_get0_lastUpdate(crl));
  }
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl);
  if (next == nullptr) return "the CRL has no nextUpdate";
  time_t earliest = now - kSkew;
  if (X509_cmp_time(next, &earliest) <= 0) return "the CRL expired at " + time_text(next);

  for (int i = 0; i < X509_CRL_get_ext_count(crl); ++i) {
    X509_EXTENSION* ext = X509_CRL_get_ext(crl, i);
    const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    if (nid == NID_delta_crl) return "delta CRLs are not supported";
    const bool understood = nid == NID_issuing_distribution_point || nid == NID_crl_number ||
                            nid == NID_authority_key_identifier;
    if (X509_EXTENSION_get_critical(ext) == 1 && !understood) {
      return std::string("the CRL has an unsupported critical extension ") +
             (nid != NID_undef ? OBJ_nid2sn(nid) : "(unknown)");
    }
  }
  IssuingDistPointPtr idp(static_cast<ISSUING_DIST_POINT*>(
      X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, nullptr, nullptr)));
  drain_openssl_errors();
  if (idp) {
    if (idp->onlysomereasons != nullptr) return "the CRL covers only some revocation reasons";
    if (idp->indirectCRL) return "indirect CRLs are not supported";
    if (idp->onlyattr) return "the CRL covers only attribute certificates";
    if (idp->onlyuser && subject_is_ca) return "the CRL covers only end-entity certificates";
    if (idp->onlyCA && !subject_is_ca) return "the CRL covers only CA certificates";
  }
  return {};
}

std::optional<std::string> revocation_in(X509_CRL* crl, X509* cert) {
  X509_REVOKED* entry = nullptr;
  // 1: listed; 2: listed as removeFromCRL (delta CRLs only: not revoked).
  if (X509_CRL_get0_by_cert(crl, &entry, cert) != 1 || entry == nullptr) return std::nullopt;
  Asn1EnumeratedPtr reason(static_cast<ASN1_ENUMERATED*>(
      X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, nullptr, nullptr)));
  drain_openssl_errors();
  if (!reason) return std::string("unspecified");
  return std::string(OCSP_crl_reason_str(ASN1_ENUMERATED_get(reason.get())));
}

}  // namespace tlsgate::tls
