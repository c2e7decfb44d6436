// bench_leaf_batch: many distinct upstream leaves for the forged-certificate
// cache-miss figure (bench/README.md): every name gets its own certificate
// (so its own SHA-256, the cache key), all sharing one P-256 key, signed by
// the lab's intermediate. Writing them with the openssl CLI would take a
// process per certificate.
//
//   bench_leaf_batch --ca-cert PEM --ca-key PEM --chain PEM --out DIR
//                    (--count N --suffix DOMAIN | --names NAME,NAME...)
//
// Writes DIR/leaf.key and DIR/<name>.pem (leaf followed by --chain) for the
// names n0.<suffix> ... n<N-1>.<suffix>, or the names given.
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "tls/openssl_handles.h"

namespace {

using namespace tlsgate::tls;

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

FilePtr open_file(const std::string& path, const char* mode) {
  FilePtr f(std::fopen(path.c_str(), mode));
  if (!f) throw std::runtime_error("cannot open " + path);
  return f;
}

X509Ptr read_cert(const std::string& path) {
  auto f = open_file(path, "r");
  X509Ptr cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  if (!cert) throw std::runtime_error("no certificate in " + path);
  return cert;
}

EvpPkeyPtr read_key(const std::string& path) {
  auto f = open_file(path, "r");
  EvpPkeyPtr key(PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr));
  if (!key) throw std::runtime_error("no private key in " + path);
  return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    throw std::runtime_error("cannot add extension " + value);
  }
}

X509Ptr make_leaf(const std::string& name, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BignumPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer));
  X509_set_pubkey(cert.get(), key);
  add_ext(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), issuer, NID_key_usage, "critical,digitalSignature");
  add_ext(cert.get(), issuer, NID_ext_key_usage, "serverAuth");
  add_ext(cert.get(), issuer, NID_subject_alt_name, "DNS:" + name);
  add_ext(cert.get(), issuer, NID_subject_key_identifier, "hash");
  add_ext(cert.get(), issuer, NID_authority_key_identifier, "keyid");
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) {
    throw std::runtime_error("cannot sign " + name);
  }
  return cert;
}

int run(int argc, char** argv) {
  std::string ca_cert, ca_key, chain, suffix, out;
  std::vector<std::string> names;
  long count = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    const std::string value = argv[i + 1];
    if (arg == "--ca-cert") {
      ca_cert = value;
    } else if (arg == "--ca-key") {
      ca_key = value;
    } else if (arg == "--chain") {
      chain = value;
    } else if (arg == "--count") {
      count = std::stol(value);
    } else if (arg == "--suffix") {
      suffix = value;
    } else if (arg == "--names") {
      for (size_t start = 0; start <= value.size();) {
        const size_t comma = std::min(value.find(',', start), value.size());
        if (comma > start) names.push_back(value.substr(start, comma - start));
        start = comma + 1;
      }
    } else if (arg == "--out") {
      out = value;
    } else {
      throw std::invalid_argument("unknown argument " + arg);
    }
  }
  for (long i = 0; i < count && !suffix.empty(); ++i) {
    names.push_back("n" + std::to_string(i) + "." + suffix);
  }
  if (ca_cert.empty() || ca_key.empty() || chain.empty() || out.empty() || names.empty()) {
    throw std::invalid_argument("usage: see the top of bench/load/leaf_batch.cc");
  }
  X509Ptr issuer = read_cert(ca_cert);
  EvpPkeyPtr issuer_key = read_key(ca_key);
  std::ifstream chain_in(chain);
  const std::string chain_pem((std::istreambuf_iterator<char>(chain_in)),
                              std::istreambuf_iterator<char>());
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) throw std::runtime_error("cannot generate the leaf key");
  std::filesystem::create_directories(out);
  {
    auto f = open_file(out + "/leaf.key", "w");
    PEM_write_PrivateKey(f.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  }
  for (const std::string& name : names) {
    X509Ptr leaf = make_leaf(name, key.get(), issuer.get(), issuer_key.get());
    auto f = open_file(out + "/" + name + ".pem", "w");
    PEM_write_X509(f.get(), leaf.get());
    std::fputs(chain_pem.c_str(), f.get());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_leaf_batch: %s\n", e.what());
    return 2;
  }
}
