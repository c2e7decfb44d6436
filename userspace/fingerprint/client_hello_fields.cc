#include "fingerprint/client_hello_fields.h"

#include <algorithm>

namespace tlsgate::fingerprint {

namespace {

constexpr uint8_t kClientHello = 1;
constexpr uint16_t kServerName = 0;
constexpr uint16_t kStatusRequest = 5;
constexpr uint16_t kSupportedGroups = 10;
constexpr uint16_t kSignatureAlgorithms = 13;
constexpr uint16_t kAlpn = 16;
constexpr uint16_t kSupportedVersions = 43;
constexpr uint16_t kKeyShare = 51;

// Bounds-checked reading of big-endian fields; any overrun sets `failed`.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  bool failed() const { return failed_; }
  bool empty() const { return pos_ >= bytes_.size(); }

  uint32_t number(size_t width) {
    if (!has(width)) return 0;
    uint32_t v = 0;
    for (size_t i = 0; i < width; ++i) v = v << 8 | bytes_[pos_ + i];
    pos_ += width;
    return v;
  }
  uint16_t u16() { return static_cast<uint16_t>(number(2)); }
  // A sub-reader over the next `n` bytes.
  Reader take(size_t n) {
    if (!has(n)) return Reader({});
    Reader r(bytes_.subspan(pos_, n));
    pos_ += n;
    return r;
  }
  // A sub-reader over a vector whose length prefix is `width` bytes.
  Reader vector(size_t width) { return take(number(width)); }

 private:
  bool has(size_t n) {
    if (failed_ || bytes_.size() - pos_ < n) {
      failed_ = true;
      return false;
    }
    return true;
  }

  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
  bool failed_ = false;
};

// A list of 16-bit values, GREASE left out; false when the list is malformed.
bool read_u16_list(Reader r, std::vector<uint16_t>& out) {
  while (!r.empty()) {
    uint16_t v = r.u16();
    if (r.failed()) return false;
    if (!is_grease(v)) out.push_back(v);
  }
  return true;
}

bool read_extension(uint16_t type, Reader body, ClientHelloFields& f) {
  switch (type) {
    case kServerName:
      f.has_sni = true;
      return true;
    case kStatusRequest:
      f.status_request = true;
      return true;
    case kSupportedGroups:
      return read_u16_list(body.vector(2), f.groups) && !body.failed();
    case kSignatureAlgorithms:
      return read_u16_list(body.vector(2), f.signature_algorithms) && !body.failed();
    case kSupportedVersions:
      return read_u16_list(body.vector(1), f.supported_versions) && !body.failed();
    case kAlpn: {
      Reader list = body.vector(2);
      while (!list.empty()) {
        Reader name = list.vector(1);
        if (list.failed()) return false;
        std::string protocol;
        while (!name.empty()) protocol.push_back(static_cast<char>(name.number(1)));
        f.alpn.push_back(std::move(protocol));
      }
      return !body.failed();
    }
    case kKeyShare: {
      Reader shares = body.vector(2);
      while (!shares.empty()) {
        uint16_t group = shares.u16();
        shares.vector(2);  // the key itself
        if (shares.failed()) return false;
        if (!is_grease(group)) f.key_share_groups.push_back(group);
      }
      return !body.failed();
    }
    default:
      return true;
  }
}

}  // namespace

bool is_grease(uint16_t value) {
  return (value & 0x0f0f) == 0x0a0a && (value >> 8) == (value & 0xff);
}

bool ClientHelloFields::has_extension(uint16_t type) const {
  return std::find(extensions.begin(), extensions.end(), type) != extensions.end();
}

uint16_t ClientHelloFields::max_version() const {
  if (supported_versions.empty()) return legacy_version;
  return *std::max_element(supported_versions.begin(), supported_versions.end());
}

std::optional<ClientHelloFields> parse_client_hello_fields(std::span<const uint8_t> message) {
  Reader msg(message);
  if (msg.number(1) != kClientHello) return std::nullopt;
  Reader hello = msg.vector(3);
  ClientHelloFields f;
  f.legacy_version = hello.u16();
  hello.take(32);   // random
  hello.vector(1);  // legacy_session_id
  if (!read_u16_list(hello.vector(2), f.ciphers)) return std::nullopt;
  hello.vector(1);  // legacy_compression_methods
  if (hello.failed()) return std::nullopt;
  if (hello.empty()) return f;  // a hello without extensions (TLS 1.0 and older)
  Reader extensions = hello.vector(2);
  while (!extensions.empty()) {
    uint16_t type = extensions.u16();
    Reader body = extensions.vector(2);
    if (extensions.failed()) return std::nullopt;
    if (is_grease(type)) continue;
    f.extensions.push_back(type);
    if (!read_extension(type, body, f)) return std::nullopt;
  }
  if (hello.failed() || msg.failed()) return std::nullopt;
  return f;
}

}  // namespace tlsgate::fingerprint
