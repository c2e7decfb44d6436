#include "distribution/ca_formats.h"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

#include "ca/ca_store.h"
#include "pages/html.h"

namespace tlsgate::distribution {
namespace {

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::array<unsigned char, 32> sha256(X509* cert) {
  std::array<unsigned char, 32> md{};
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md.data(), &len) != 1 || len != md.size()) {
    throw std::runtime_error("cannot hash the certificate");
  }
  return md;
}

// A name-based UUID (version 5 layout) from the certificate's digest and a
// label, so the same certificate always gives the same profile: installing
// it again replaces the profile instead of adding a second one.
std::string uuid_for(X509* cert, unsigned char label) {
  auto md = sha256(cert);
  for (auto& b : md) b = static_cast<unsigned char>(b ^ label);
  md[6] = static_cast<unsigned char>((md[6] & 0x0f) | 0x50);
  md[8] = static_cast<unsigned char>((md[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0x0f];
  }
  return out;
}

std::string key(std::string_view k) {
  return "<key>" + std::string(k) + "</key>";
}
std::string string_value(std::string_view v) {
  return "<string>" + pages::html_escape(v) + "</string>";
}

}  // namespace

std::string pem_of(X509* cert) {
  return tls::pem_of(cert);
}

std::string der_of(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  if (len <= 0) throw std::runtime_error("cannot encode the certificate");
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string colon_fingerprint(X509* cert) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char b : sha256(cert)) {
    if (!out.empty()) out += ':';
    out += kHex[b >> 4];
    out += kHex[b & 0x0f];
  }
  return out;
}

std::string mobileconfig_of(X509* cert, std::string_view display_name) {
  const std::string payload_uuid = uuid_for(cert, 0x00);
  const std::string profile_uuid = uuid_for(cert, 0x5a);
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
      "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
      "<plist version=\"1.0\">\n<dict>\n";
  out += key("PayloadContent") + "\n<array>\n<dict>\n";
  out += key("PayloadCertificateFileName") + string_value("tlsgate-ca.cer") + "\n";
  out += key("PayloadContent") + "<data>" + base64(der_of(cert)) + "</data>\n";
  out += key("PayloadDescription") + string_value("Adds the tlsgate root certificate") + "\n";
  out += key("PayloadDisplayName") + string_value(display_name) + "\n";
  out += key("PayloadIdentifier") + string_value("com.apple.security.root." + payload_uuid) + "\n";
  out += key("PayloadType") + string_value("com.apple.security.root") + "\n";
  out += key("PayloadUUID") + string_value(payload_uuid) + "\n";
  out += key("PayloadVersion") + "<integer>1</integer>\n";
  out += "</dict>\n</array>\n";
  out += key("PayloadDescription") +
         string_value(
             "Installs the root certificate of the tlsgate inspection gateway. Then "
             "enable full trust for it in Settings > General > About > Certificate "
             "Trust Settings.") +
         "\n";
  out += key("PayloadDisplayName") + string_value(display_name) + "\n";
  out += key("PayloadIdentifier") + string_value("tlsgate.ca." + profile_uuid) + "\n";
  out += key("PayloadRemovalDisallowed") + "<false/>\n";
  out += key("PayloadType") + string_value("Configuration") + "\n";
  out += key("PayloadUUID") + string_value(profile_uuid) + "\n";
  out += key("PayloadVersion") + "<integer>1</integer>\n";
  out += "</dict>\n</plist>\n";
  return out;
}

}  // namespace tlsgate::distribution
