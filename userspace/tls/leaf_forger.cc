#include "tls/leaf_forger.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <stdexcept>
#include <string>

#include "tls/openssl_text.h"
#include "tls/x509_fields.h"

namespace tlsgate::tls {
namespace {

constexpr size_t kMaxCommonName = 64;  // ub-common-name, RFC 5280

struct ServerNames {
  GeneralNamesPtr sans;
  std::string common_name;  // "" when no name fits in a CN
};

bool fits_common_name(const ASN1_IA5STRING* dns) {
  int len = ASN1_STRING_length(dns);
  if (len <= 0 || static_cast<size_t>(len) > kMaxCommonName) return false;
  const unsigned char* p = ASN1_STRING_get0_data(dns);
  return std::all_of(p, p + len, [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  int family = ASN1_STRING_length(ip) == 4 ? AF_INET : AF_INET6;
  if (inet_ntop(family, ASN1_STRING_get0_data(ip), buf.data(), buf.size()) == nullptr) return {};
  return buf.data();
}

// Only DNS and IP entries: other name forms (email, URI, directory names,
// otherName) mean nothing to a TLS client and are never vouched for.
ServerNames copy_server_names(X509* upstream) {
  int critical = 0;
  GeneralNamesPtr upstream_sans(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(upstream, NID_subject_alt_name, &critical, nullptr)));
  ServerNames out{GeneralNamesPtr(sk_GENERAL_NAME_new_null()), {}};
  if (!out.sans) throw_openssl_error("cannot allocate SAN list");
  std::string first_ip;
  for (int i = 0; upstream_sans && i < sk_GENERAL_NAME_num(upstream_sans.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(upstream_sans.get(), i);
    if (name->type == GEN_DNS) {
      if (out.common_name.empty() && fits_common_name(name->d.dNSName)) {
        out.common_name.assign(
            reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)),
            static_cast<size_t>(ASN1_STRING_length(name->d.dNSName)));
      }
    } else if (name->type == GEN_IPADD) {
      int len = ASN1_STRING_length(name->d.iPAddress);
      if (len != 4 && len != 16) continue;
      if (first_ip.empty()) first_ip = ip_text(name->d.iPAddress);
    } else {
      continue;
    }
    GENERAL_NAME* copy = GENERAL_NAME_dup(name);
    if (copy == nullptr || sk_GENERAL_NAME_push(out.sans.get(), copy) <= 0) {
      GENERAL_NAME_free(copy);
      throw_openssl_error("cannot copy SAN");
    }
  }
  drain_openssl_errors();  // X509_get_ext_d2i leaves an entry when there is no SAN
  if (sk_GENERAL_NAME_num(out.sans.get()) == 0) {
    throw std::runtime_error("upstream certificate \"" + rfc2253(X509_get_subject_name(upstream)) +
                             "\" has no DNS or IP subjectAltName; refusing to forge");
  }
  if (out.common_name.empty()) out.common_name = first_ip;
  return out;
}

// Within the upstream's window and [now - backdate, now + max validity].
std::pair<time_t, time_t> forged_validity(X509* upstream, time_t now) {
  time_t up_not_before = to_time_t(X509_get0_notBefore(upstream));
  time_t up_not_after = to_time_t(X509_get0_notAfter(upstream));
  time_t backdate = std::chrono::seconds(LeafForger::kBackdate).count();
  time_t max_validity = std::chrono::seconds(LeafForger::kMaxValidity).count();
  time_t not_before = std::max(up_not_before, now - backdate);
  time_t not_after = std::min(up_not_after, now + max_validity);
  if (not_before > not_after) {
    // Never re-mint fresh dates for an expired or far-future upstream.
    time_t instant = up_not_after < now ? up_not_after : up_not_before;
    return {instant, instant};
  }
  return {not_before, not_after};
}

}  // namespace

LeafForger::LeafForger(const CaStore& ca)
    : ca_(ca),
      leaf_key_(generate_ec_key("P-256")),
      basic_constraints_(make_extension(NID_basic_constraints, "critical,CA:FALSE")),
      key_usage_(make_extension(NID_key_usage, "critical,digitalSignature")),
      ext_key_usage_(make_extension(NID_ext_key_usage, "serverAuth")) {
  // The key ids depend only on the leaf key and the signer: compute once.
  X509Ptr probe(X509_new());
  if (!probe || X509_set_pubkey(probe.get(), leaf_key_.get()) != 1) {
    throw_openssl_error("cannot compute the leaf key id");
  }
  subject_key_id_ = make_subject_key_id(public_key_id(probe.get()).get());
  authority_key_id_ = make_authority_key_id(public_key_id(ca_.signer()).get());
}

std::shared_ptr<const ForgedCert> LeafForger::forge(X509* upstream_leaf) const {
  ServerNames names = copy_server_names(upstream_leaf);
  auto [not_before, not_after] = forged_validity(upstream_leaf, std::time(nullptr));

  X509Ptr leaf(X509_new());
  X509NamePtr subject(X509_NAME_new());
  if (!leaf || !subject || X509_set_version(leaf.get(), X509_VERSION_3) != 1 ||
      X509_set_pubkey(leaf.get(), leaf_key_.get()) != 1 ||
      X509_set_issuer_name(leaf.get(), X509_get_subject_name(ca_.signer())) != 1) {
    throw_openssl_error("cannot build forged leaf");
  }
  if (!names.common_name.empty() &&
      X509_NAME_add_entry_by_NID(subject.get(), NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(names.common_name.data()),
                                 static_cast<int>(names.common_name.size()), -1, 0) != 1) {
    throw_openssl_error("cannot set forged subject");
  }
  if (X509_set_subject_name(leaf.get(), subject.get()) != 1) {
    throw_openssl_error("cannot set forged subject");
  }
  set_random_serial(leaf.get());
  set_validity(leaf.get(), not_before, not_after);

  add_extension(leaf.get(), basic_constraints_.get());
  add_extension(leaf.get(), key_usage_.get());
  add_extension(leaf.get(), ext_key_usage_.get());
  // RFC 5280 §4.2.1.6: the SAN is critical when the subject is empty.
  X509ExtensionPtr san(
      X509V3_EXT_i2d(NID_subject_alt_name, names.common_name.empty() ? 1 : 0, names.sans.get()));
  if (!san) throw_openssl_error("cannot encode subjectAltName");
  add_extension(leaf.get(), san.get());
  add_extension(leaf.get(), subject_key_id_.get());
  add_extension(leaf.get(), authority_key_id_.get());
  sign_certificate(leaf.get(), ca_.signer_key(), EVP_sha256());

  auto forged = std::make_shared<ForgedCert>();
  forged->leaf = std::move(leaf);
  forged->key = share(leaf_key_.get());
  forged->chain.push_back(share(ca_.signer()));
  return forged;
}

}  // namespace tlsgate::tls
