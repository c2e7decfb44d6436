// The forms in which a CA certificate is handed to clients (DESIGN.md §6):
// PEM, DER (.cer, what Windows and Android open) and an Apple configuration
// profile (.mobileconfig, a com.apple.security.root payload; unsigned).
#pragma once

#include <string>
#include <string_view>

#include "tls/openssl_handles.h"

namespace tlsgate::distribution {

std::string pem_of(X509* cert);
std::string der_of(X509* cert);
// `display_name` appears in the profile's title on the device.
std::string mobileconfig_of(X509* cert, std::string_view display_name);

// "AB:CD:..." SHA-256, as devices show it when asked to trust a certificate.
std::string colon_fingerprint(X509* cert);

}  // namespace tlsgate::distribution
