#include "test_pki.h"

#include <arpa/inet.h>
#include <openssl/conf.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>

#include <array>
#include <atomic>
#include <ctime>
#include <fstream>
#include <memory>
#include <stdexcept>

namespace tlsgate::tls::testing {
namespace {

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  // An (empty) config database: extensions such as certificatePolicies demand one.
  std::unique_ptr<CONF, OpenSslDeleter<NCONF_free>> conf(NCONF_new(nullptr));
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509V3_set_nconf(&ctx, conf.get());
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  check(ext != nullptr && X509_add_ext(cert, ext.get(), -1) == 1, OBJ_nid2sn(nid));
}

time_t to_time(const ASN1_TIME* t) {
  struct tm tm {};
  check(ASN1_TIME_to_tm(t, &tm) == 1, "time");
  return timegm(&tm);
}

}  // namespace

EvpPkeyPtr make_ec_key(const char* curve) {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
  check(key != nullptr, "EC key");
  return key;
}

EvpPkeyPtr make_rsa_key(unsigned bits) {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
  check(key != nullptr, "RSA key");
  return key;
}

X509Ptr issue(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer, EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  check(cert && X509_set_version(cert.get(), X509_VERSION_3) == 1, "version");
  static std::atomic<long> next_serial{1000};
  check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), next_serial++) == 1, "serial");
  time_t now = std::time(nullptr);
  check(ASN1_TIME_set(X509_getm_notBefore(cert.get()), now + spec.not_before.count()) &&
            ASN1_TIME_set(X509_getm_notAfter(cert.get()), now + spec.not_after.count()),
        "validity");
  X509NamePtr name(X509_NAME_new());
  if (!spec.common_name.empty()) {
    check(X509_NAME_add_entry_by_NID(
              name.get(), NID_commonName, MBSTRING_UTF8,
              reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0) == 1,
          "CN");
  }
  check(X509_set_subject_name(cert.get(), name.get()) == 1, "subject");
  check(X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name.get()) == 1,
        "issuer");
  check(X509_set_pubkey(cert.get(), subject_key) == 1, "pubkey");
  X509* ext_issuer = issuer ? issuer : cert.get();
  if (!spec.basic_constraints.empty()) {
    add_ext(cert.get(), ext_issuer, NID_basic_constraints, spec.basic_constraints);
  }
  if (!spec.key_usage.empty()) add_ext(cert.get(), ext_issuer, NID_key_usage, spec.key_usage);
  if (!spec.ext_key_usage.empty()) {
    add_ext(cert.get(), ext_issuer, NID_ext_key_usage, spec.ext_key_usage);
  }
  if (!spec.san.empty()) add_ext(cert.get(), ext_issuer, NID_subject_alt_name, spec.san);
  add_ext(cert.get(), ext_issuer, NID_subject_key_identifier, "hash");
  if (issuer) add_ext(cert.get(), ext_issuer, NID_authority_key_identifier, "keyid:always");
  for (const auto& [nid, value] : spec.extra) add_ext(cert.get(), ext_issuer, nid, value);
  check(X509_sign(cert.get(), issuer_key ? issuer_key : subject_key,
                  spec.md ? spec.md : EVP_sha256()) > 0,
        "sign");
  return cert;
}

CertSpec ca_spec(const std::string& common_name) {
  CertSpec spec;
  spec.common_name = common_name;
  spec.not_before = -std::chrono::hours(24 * 365);
  spec.not_after = std::chrono::hours(24 * 365 * 5);
  spec.basic_constraints = "critical,CA:TRUE";
  spec.key_usage = "critical,keyCertSign,cRLSign";
  spec.ext_key_usage = "";
  return spec;
}

CertSpec server_spec(const std::string& san) {
  CertSpec spec;
  spec.common_name = "lab server";
  spec.san = san;
  return spec;
}

TestPki::TestPki(const std::string& name) {
  root.key = make_ec_key("P-384");
  root.cert = issue(ca_spec(name + " Test Root"), root.key.get(), nullptr, nullptr);
  intermediate.key = make_ec_key("P-256");
  intermediate.cert = issue(ca_spec(name + " Test Intermediate"), intermediate.key.get(),
                            root.cert.get(), root.key.get());
  leaf_key = make_ec_key("P-256");
}

X509Ptr TestPki::leaf(const CertSpec& spec) const {
  return issue(spec, leaf_key.get(), intermediate.cert.get(), intermediate.key.get());
}

std::filesystem::path TestPki::write_root_bundle(const std::filesystem::path& dir) const {
  std::filesystem::path path = dir / "trust.pem";
  BioPtr bio(BIO_new_file(path.c_str(), "w"));
  check(bio && PEM_write_bio_X509(bio.get(), root.cert.get()) == 1, "bundle");
  return path;
}

std::string make_ocsp_response(X509* leaf, X509* issuer, X509* signer, EVP_PKEY* signer_key,
                               int status, std::chrono::seconds next_update) {
  using BasicPtr = std::unique_ptr<OCSP_BASICRESP, OpenSslDeleter<OCSP_BASICRESP_free>>;
  using ResponsePtr = std::unique_ptr<OCSP_RESPONSE, OpenSslDeleter<OCSP_RESPONSE_free>>;
  using CertIdPtr = std::unique_ptr<OCSP_CERTID, OpenSslDeleter<OCSP_CERTID_free>>;
  time_t now = std::time(nullptr);
  Asn1TimePtr this_update(ASN1_TIME_set(nullptr, now - 3600));
  Asn1TimePtr next(ASN1_TIME_set(nullptr, now + next_update.count()));
  Asn1TimePtr revoked_at(ASN1_TIME_set(nullptr, now - 7200));
  BasicPtr basic(OCSP_BASICRESP_new());
  CertIdPtr id(OCSP_cert_to_id(nullptr, leaf, issuer));
  check(basic && id, "OCSP");
  check(OCSP_basic_add1_status(
            basic.get(), id.get(), status,
            status == V_OCSP_CERTSTATUS_REVOKED ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : -1,
            revoked_at.get(), this_update.get(), next.get()) != nullptr,
        "OCSP status");
  check(OCSP_basic_sign(basic.get(), signer, signer_key, EVP_sha256(), nullptr, 0) == 1,
        "OCSP sign");
  ResponsePtr response(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
  unsigned char* der = nullptr;
  int len = response ? i2d_OCSP_RESPONSE(response.get(), &der) : -1;
  check(len > 0, "OCSP encode");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string make_crl_der(X509* issuer, EVP_PKEY* signer_key, const CrlSpec& spec) {
  std::unique_ptr<X509_CRL, OpenSslDeleter<X509_CRL_free>> crl(X509_CRL_new());
  const time_t now = std::time(nullptr);
  Asn1TimePtr last(ASN1_TIME_set(nullptr, now + spec.last_update.count()));
  Asn1TimePtr next(ASN1_TIME_set(nullptr, now + spec.next_update.count()));
  check(crl && X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) == 1 &&
            X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer)) == 1 &&
            X509_CRL_set1_lastUpdate(crl.get(), last.get()) == 1 &&
            X509_CRL_set1_nextUpdate(crl.get(), next.get()) == 1,
        "CRL fields");
  for (X509* cert : spec.revoked) {
    X509_REVOKED* entry = X509_REVOKED_new();
    std::unique_ptr<ASN1_ENUMERATED, OpenSslDeleter<ASN1_ENUMERATED_free>> reason(
        ASN1_ENUMERATED_new());
    check(entry && reason &&
              X509_REVOKED_set_serialNumber(
                  entry, const_cast<ASN1_INTEGER*>(X509_get0_serialNumber(cert))) == 1 &&
              X509_REVOKED_set_revocationDate(entry, last.get()) == 1 &&
              ASN1_ENUMERATED_set(reason.get(), 1) == 1 &&  // keyCompromise
              X509_REVOKED_add1_ext_i2d(entry, NID_crl_reason, reason.get(), 0, 0) == 1 &&
              X509_CRL_add0_revoked(crl.get(), entry) == 1,
          "CRL entry");
  }
  if (spec.only_ca_certs) {
    std::unique_ptr<ISSUING_DIST_POINT, OpenSslDeleter<ISSUING_DIST_POINT_free>> idp(
        ISSUING_DIST_POINT_new());
    idp->onlyCA = 0xff;
    check(X509_CRL_add1_ext_i2d(crl.get(), NID_issuing_distribution_point, idp.get(), 1, 0) == 1,
          "IDP");
  }
  if (spec.delta) {
    Asn1IntegerPtr base(ASN1_INTEGER_new());
    check(base && ASN1_INTEGER_set(base.get(), 1) == 1 &&
              X509_CRL_add1_ext_i2d(crl.get(), NID_delta_crl, base.get(), 1, 0) == 1,
          "delta");
  }
  check(X509_CRL_sort(crl.get()) == 1 && X509_CRL_sign(crl.get(), signer_key, EVP_sha256()) > 0,
        "CRL sign");
  unsigned char* der = nullptr;
  int len = i2d_X509_CRL(crl.get(), &der);
  check(len > 0, "CRL encode");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string subject_of(const X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

time_t not_before_of(const X509* cert) {
  return to_time(X509_get0_notBefore(cert));
}
time_t not_after_of(const X509* cert) {
  return to_time(X509_get0_notAfter(cert));
}

std::vector<std::string> san_entries(X509* cert) {
  std::vector<std::string> out;
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      const ASN1_STRING* s = name->d.dNSName;
      out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                         static_cast<size_t>(ASN1_STRING_length(s))));
    } else if (name->type == GEN_IPADD) {
      std::array<char, INET6_ADDRSTRLEN> buf{};
      const ASN1_STRING* s = name->d.iPAddress;
      inet_ntop(ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s),
                buf.data(), buf.size());
      out.push_back(std::string("IP:") + buf.data());
    } else if (name->type == GEN_EMAIL) {
      out.push_back("email");
    } else if (name->type == GEN_URI) {
      out.push_back("URI");
    } else {
      out.push_back("other");
    }
  }
  return out;
}

}  // namespace tlsgate::tls::testing
