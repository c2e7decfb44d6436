#include "fingerprint/ja4.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace tlsgate::fingerprint {

namespace {

constexpr uint16_t kServerName = 0;
constexpr uint16_t kAlpn = 16;
constexpr uint16_t kSupportedVersions = 43;

// Fetched once: OpenSSL 3 looks algorithms up under a lock otherwise.
const EVP_MD* sha256() {
  static const EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) throw std::runtime_error("SHA256 is not available");
    return fetched;
  }();
  return md;
}

// The first 12 hex digits of sha256(text); "000000000000" for nothing.
std::string hash12(const std::string& text) {
  if (text.empty()) return "000000000000";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &len, sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < 6; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

std::string hex4(uint16_t v) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "%04x", v);
  return buf;
}

std::string joined(const std::vector<uint16_t>& values) {
  std::string out;
  for (uint16_t v : values) {
    if (!out.empty()) out.push_back(',');
    out += hex4(v);
  }
  return out;
}

std::string version_chars(uint16_t version) {
  switch (version) {
    case 0x0304:
      return "13";
    case 0x0303:
      return "12";
    case 0x0302:
      return "11";
    case 0x0301:
      return "10";
    case 0x0300:
      return "s3";
    case 0x0002:
      return "s2";
    case 0xfeff:
      return "d1";
    case 0xfefd:
      return "d2";
    case 0xfefc:
      return "d3";
    default:
      return "00";
  }
}

std::string count2(size_t n) {
  char buf[3];
  std::snprintf(buf, sizeof buf, "%02zu", std::min<size_t>(n, 99));
  return buf;
}

bool alphanumeric(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

}  // namespace

// JA4.md, "ALPN Extension Value": the first and last characters; one
// character is both; a non-alphanumeric first or last byte: the first and
// last characters of the value's hex form instead.
std::string ja4_alpn_chars(const std::string& first_alpn) {
  if (first_alpn.empty()) return "00";
  const auto first = static_cast<unsigned char>(first_alpn.front());
  const auto last = static_cast<unsigned char>(first_alpn.back());
  if (alphanumeric(first) && alphanumeric(last)) {
    return std::string{static_cast<char>(first), static_cast<char>(last)};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string{kHex[first >> 4], kHex[last & 0xf]};
}

std::string ja4(const ClientHelloFields& hello, Ja4Options options) {
  // The version: the highest of supported_versions, else the hello's own.
  const uint16_t version =
      hello.has_extension(kSupportedVersions) && !hello.supported_versions.empty()
          ? hello.max_version()
          : hello.legacy_version;
  std::string a = "t" + version_chars(version) + (hello.has_sni ? "d" : "i") +
                  count2(hello.ciphers.size()) + count2(hello.extensions.size()) +
                  ja4_alpn_chars(hello.alpn.empty() ? std::string() : hello.alpn.front());

  std::vector<uint16_t> ciphers = hello.ciphers;
  std::vector<uint16_t> extensions = hello.extensions;
  if (!options.original_order) {
    std::sort(ciphers.begin(), ciphers.end());
    std::erase_if(extensions, [](uint16_t t) { return t == kServerName || t == kAlpn; });
    std::sort(extensions.begin(), extensions.end());
  }
  const std::string b = joined(ciphers);
  std::string c = joined(extensions);
  if (!hello.signature_algorithms.empty() && !c.empty()) {
    c += "_" + joined(hello.signature_algorithms);
  }
  if (options.raw) return a + "_" + b + "_" + c;
  return a + "_" + hash12(b) + "_" + hash12(c);
}

std::string ja4_of_message(std::span<const uint8_t> message) {
  auto fields = parse_client_hello_fields(message);
  return fields ? ja4(*fields) : std::string();
}

}  // namespace tlsgate::fingerprint
