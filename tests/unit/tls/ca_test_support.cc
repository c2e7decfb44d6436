#include "ca_test_support.h"

#include <openssl/pem.h>

#include <ctime>
#include <stdexcept>
#include <utility>

namespace tlsgate::tls::testing {
namespace {

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

std::string cert_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) throw std::runtime_error("cert PEM");
  return bio_text(bio.get());
}

std::string key_pem(EVP_PKEY* key, const std::string& passphrase) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  const EVP_CIPHER* cipher = passphrase.empty() ? nullptr : EVP_aes_256_cbc();
  if (!bio ||
      PEM_write_bio_PKCS8PrivateKey(bio.get(), key, cipher, passphrase.data(),
                                    static_cast<int>(passphrase.size()), nullptr, nullptr) != 1) {
    throw std::runtime_error("key PEM");
  }
  return bio_text(bio.get());
}

int verify_as_client(X509* leaf, const std::vector<X509Ptr>& chain,
                     const std::vector<X509*>& roots) {
  X509StorePtr store(X509_STORE_new());
  for (X509* root : roots) X509_STORE_add_cert(store.get(), root);
  X509StackPtr untrusted(sk_X509_new_null());
  for (const X509Ptr& c : chain) {
    X509Ptr copy = share(c.get());
    sk_X509_push(untrusted.get(), copy.release());
  }
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get());
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx.get()), "host.lab.test", 0);
  const int ok = X509_verify_cert(ctx.get());
  return ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx.get());
}

int verify_forged(const LeafForger& forger, const std::vector<X509*>& roots) {
  auto forged = forger.forge_for_name("host.lab.test");
  return verify_as_client(forged->leaf.get(), forged->chain, roots);
}

EnterpriseRoot::EnterpriseRoot(const std::string& name, bool rsa, std::string pathlen) {
  root.key = rsa ? make_rsa_key(2048) : make_ec_key("P-384");
  CertSpec spec = ca_spec(name);
  if (!pathlen.empty()) spec.basic_constraints = "critical,CA:TRUE,pathlen:" + pathlen;
  root.cert = issue(spec, root.key.get(), nullptr, nullptr);
}

X509Ptr cross_certify(X509* root, const KeyedCert& issuer) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 4242);
  const time_t now = std::time(nullptr);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), now - 3600);
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), now + 365 * 86400);
  X509_set_subject_name(cert.get(), X509_get_subject_name(root));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer.cert.get()));
  X509_set_pubkey(cert.get(), X509_get0_pubkey(root));
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer.cert.get(), cert.get(), nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:1"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"},
                            std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1) throw std::runtime_error("cross ext");
  }
  if (X509_sign(cert.get(), issuer.key.get(), EVP_sha256()) <= 0) {
    throw std::runtime_error("cross sign");
  }
  return cert;
}

}  // namespace tlsgate::tls::testing
