// What the CA distribution endpoint serves (DESIGN.md §6), as a pure
// function of the request head and the published CAs:
//   /                                   the install page: every published CA
//                                       (staged, active, retiring) with its
//                                       fingerprint and per-platform steps
//   /ca/tlsgate-<name>-<gen>.pem        the root, PEM
//   /ca/tlsgate-<name>-<gen>.cer        the root, DER
//   /ca/tlsgate-<name>-<gen>.mobileconfig   Apple profile (com.apple.security.root)
//   /ca/all.pem                         every published root, one PEM bundle
// GET and HEAD only; never the untrusted CA, never a key.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ca/ca_registry.h"

namespace tlsgate::distribution {

// The whole HTTP/1.1 response (Connection: close) to one request head.
std::string distribution_response(std::string_view request_head,
                                  const std::vector<tls::PublishedCa>& cas);

std::string install_page(const std::vector<tls::PublishedCa>& cas);

// "tlsgate-default-2.pem": the file a client downloads.
std::string file_name(const tls::PublishedCa& ca, std::string_view extension);

}  // namespace tlsgate::distribution
