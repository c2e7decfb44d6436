// The names a certificate vouches for, as a TLS client checks them: its DNS
// subjectAltNames as written and its IP subjectAltNames as text.
#pragma once

#include <openssl/x509.h>

#include <string>
#include <vector>

namespace tlsgate::terminator {

std::vector<std::string> certificate_names(X509* cert);

}  // namespace tlsgate::terminator
