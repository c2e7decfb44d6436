#include "terminator/certificate_names.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <array>

#include "tls/openssl_handles.h"

namespace tlsgate::terminator {

std::vector<std::string> certificate_names(X509* cert) {
  std::vector<std::string> out;
  tls::GeneralNamesPtr sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!sans) {
    ERR_clear_error();  // no SAN extension leaves an entry
    return out;
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans.get(), i);
    if (name->type == GEN_DNS) {
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)),
                       static_cast<size_t>(ASN1_STRING_length(name->d.dNSName)));
    } else if (name->type == GEN_IPADD) {
      const int len = ASN1_STRING_length(name->d.iPAddress);
      if (len != 4 && len != 16) continue;
      std::array<char, INET6_ADDRSTRLEN> text{};
      if (inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(name->d.iPAddress),
                    text.data(), text.size()) != nullptr) {
        out.emplace_back(text.data());
      }
    }
  }
  return out;
}

}  // namespace tlsgate::terminator
