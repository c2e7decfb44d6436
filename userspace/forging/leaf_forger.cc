#include "forging/leaf_forger.h"

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

GENERAL_NAME* copy_general_name(const GENERAL_NAME* name) {
  GENERAL_NAME* copy = GENERAL_NAME_dup(name);
  if (copy == nullptr) throw_openssl_error("cannot copy SAN");
  return copy;
}

void push_name(GENERAL_NAMES* sans, GENERAL_NAME* name) {
  if (sk_GENERAL_NAME_push(sans, name) <= 0) {
    GENERAL_NAME_free(name);
    throw_openssl_error("cannot build SAN list");
  }
}

bool is_ip(const GENERAL_NAME* name, const IpAddress& ip) {
  if (name->type != GEN_IPADD) return false;
  const int len = ASN1_STRING_length(name->d.iPAddress);
  return static_cast<size_t>(len) == ip.size() &&
         std::equal(ip.bytes().begin(), ip.bytes().begin() + len,
                    ASN1_STRING_get0_data(name->d.iPAddress));
}

// Only DNS and IP entries: other name forms (email, URI, directory names,
// otherName) mean nothing to a TLS client and are never vouched for. With
// `only_ip`, nothing but that address.
ServerNames copy_server_names(X509* upstream, const std::optional<IpAddress>& only_ip) {
  int critical = 0;
  GeneralNamesPtr upstream_sans(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(upstream, NID_subject_alt_name, &critical, nullptr)));
  ServerNames out{GeneralNamesPtr(sk_GENERAL_NAME_new_null()), {}};
  if (!out.sans) throw_openssl_error("cannot allocate SAN list");
  std::string first_ip;
  for (int i = 0; upstream_sans && i < sk_GENERAL_NAME_num(upstream_sans.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(upstream_sans.get(), i);
    if (only_ip) {
      if (!is_ip(name, *only_ip)) continue;
      push_name(out.sans.get(), copy_general_name(name));
      out.common_name = only_ip->to_string();
      break;  // once, even when the upstream lists it twice
    }
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
    push_name(out.sans.get(), copy_general_name(name));
  }
  drain_openssl_errors();  // X509_get_ext_d2i leaves an entry when there is no SAN
  // Named only when refusing: formatting it costs more than the check.
  auto subject = [upstream] { return rfc2253(X509_get_subject_name(upstream)); };
  if (only_ip && sk_GENERAL_NAME_num(out.sans.get()) == 0) {
    throw std::runtime_error("upstream certificate \"" + subject() + "\" has no IP SAN " +
                             only_ip->to_string() + "; refusing to forge");
  }
  if (sk_GENERAL_NAME_num(out.sans.get()) == 0) {
    throw std::runtime_error("upstream certificate \"" + subject() +
                             "\" has no DNS or IP subjectAltName; refusing to forge");
  }
  if (out.common_name.empty()) out.common_name = first_ip;
  return out;
}

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// A DNS name a client could have asked for: LDH labels (and '_', which
// appears in real host names), 1-63 bytes each, at most 253 in all.
bool valid_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

ServerNames names_for(std::string_view requested) {
  std::string name(requested);
  std::transform(name.begin(), name.end(), name.begin(), ascii_lower);
  if (!name.empty() && name.back() == '.') name.pop_back();
  ServerNames out{GeneralNamesPtr(sk_GENERAL_NAME_new_null()), {}};
  GENERAL_NAME* entry = GENERAL_NAME_new();
  if (!out.sans || entry == nullptr) {
    GENERAL_NAME_free(entry);
    throw_openssl_error("cannot allocate SAN list");
  }
  if (std::optional<IpAddress> ip = IpAddress::parse(name)) {
    Asn1OctetStringPtr bytes(ASN1_OCTET_STRING_new());
    if (!bytes ||
        ASN1_OCTET_STRING_set(bytes.get(), ip->bytes().data(), static_cast<int>(ip->size())) != 1) {
      GENERAL_NAME_free(entry);
      throw_openssl_error("cannot build IP SAN");
    }
    GENERAL_NAME_set0_value(entry, GEN_IPADD, bytes.release());
    out.common_name = ip->to_string();
  } else {
    if (!valid_dns_name(name)) {
      GENERAL_NAME_free(entry);
      throw std::invalid_argument("cannot forge a certificate for \"" + std::string(requested) +
                                  "\": not a host name or IP address");
    }
    ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
    if (dns == nullptr || ASN1_STRING_set(dns, name.data(), static_cast<int>(name.size())) != 1) {
      ASN1_IA5STRING_free(dns);
      GENERAL_NAME_free(entry);
      throw_openssl_error("cannot build DNS SAN");
    }
    GENERAL_NAME_set0_value(entry, GEN_DNS, dns);
    if (name.size() <= kMaxCommonName) out.common_name = name;
  }
  push_name(out.sans.get(), entry);
  return out;
}

struct Validity {
  time_t not_before;
  time_t not_after;
  std::chrono::system_clock::time_point renew_after;
};

// Within the upstream's window and [now - backdate, now + max validity].
Validity forged_validity(X509* upstream, time_t now) {
  time_t up_not_before = to_time_t(X509_get0_notBefore(upstream));
  time_t up_not_after = to_time_t(X509_get0_notAfter(upstream));
  time_t backdate = std::chrono::seconds(LeafForger::kBackdate).count();
  time_t max_validity = std::chrono::seconds(LeafForger::kMaxValidity).count();
  time_t not_before = std::max(up_not_before, now - backdate);
  time_t not_after = std::min(up_not_after, now + max_validity);
  if (not_before > not_after) {
    // Never re-mint fresh dates for an expired or far-future upstream.
    time_t instant = up_not_after < now ? up_not_after : up_not_before;
    return {instant, instant, std::chrono::system_clock::time_point::max()};
  }
  // Cut short by kMaxValidity: a later forge reaches further, so a cached
  // leaf is renewed at half its life and never served expired.
  auto renew_after = not_after < up_not_after
                         ? std::chrono::system_clock::from_time_t(now + max_validity / 2)
                         : std::chrono::system_clock::time_point::max();
  return {not_before, not_after, renew_after};
}

}  // namespace

LeafForger::LeafForger(const LeafSigner& ca)
    : ca_(ca),
      leaf_key_(generate_ec_key("P-256")),
      leaf_public_(public_key_for_certificates(leaf_key_.get())),
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

std::shared_ptr<const ForgedCert> LeafForger::forge(X509* upstream_leaf,
                                                    const std::optional<IpAddress>& only_ip) const {
  ServerNames names = copy_server_names(upstream_leaf, only_ip);
  Validity validity = forged_validity(upstream_leaf, std::time(nullptr));
  auto forged =
      sign_leaf(names.sans.get(), names.common_name, validity.not_before, validity.not_after);
  forged->renew_after = validity.renew_after;
  return forged;
}

std::shared_ptr<const ForgedCert> LeafForger::forge_for_name(std::string_view name) const {
  ServerNames names = names_for(name);
  const time_t now = std::time(nullptr);
  const time_t validity = std::chrono::seconds(kNameValidity).count();
  auto forged = sign_leaf(names.sans.get(), names.common_name,
                          now - std::chrono::seconds(kBackdate).count(), now + validity);
  forged->renew_after = std::chrono::system_clock::from_time_t(now + validity / 2);
  return forged;
}

std::shared_ptr<ForgedCert> LeafForger::sign_leaf(GENERAL_NAMES* sans,
                                                  const std::string& common_name, time_t not_before,
                                                  time_t not_after) const {
  X509Ptr leaf(X509_new());
  X509NamePtr subject(X509_NAME_new());
  if (!leaf || !subject || X509_set_version(leaf.get(), X509_VERSION_3) != 1 ||
      X509_set_pubkey(leaf.get(), leaf_public_.get()) != 1 ||
      X509_set_issuer_name(leaf.get(), X509_get_subject_name(ca_.signer())) != 1) {
    throw_openssl_error("cannot build forged leaf");
  }
  if (!common_name.empty() &&
      X509_NAME_add_entry_by_NID(subject.get(), NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.data()),
                                 static_cast<int>(common_name.size()), -1, 0) != 1) {
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
  X509ExtensionPtr san(X509V3_EXT_i2d(NID_subject_alt_name, common_name.empty() ? 1 : 0, sans));
  if (!san) throw_openssl_error("cannot encode subjectAltName");
  add_extension(leaf.get(), san.get());
  add_extension(leaf.get(), subject_key_id_.get());
  add_extension(leaf.get(), authority_key_id_.get());
  sign_certificate(leaf.get(), ca_.signer_key(), EVP_sha256());

  auto forged = std::make_shared<ForgedCert>();
  forged->leaf = std::move(leaf);
  forged->key = share(leaf_key_.get());
  for (const X509Ptr& cert : ca_.served_chain()) forged->chain.push_back(share(cert.get()));
  return forged;
}

}  // namespace tlsgate::tls
