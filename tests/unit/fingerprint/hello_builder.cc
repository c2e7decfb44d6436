#include "hello_builder.h"

namespace tlsgate::fingerprint::testing {

namespace {

void put16(std::vector<uint8_t>& out, size_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

}  // namespace

std::vector<uint8_t> build_hello(const HelloSpec& spec) {
  std::vector<uint8_t> body;
  put16(body, spec.legacy_version);
  body.insert(body.end(), 32, 0x42);  // random
  body.push_back(32);                 // session id
  body.insert(body.end(), 32, 0x17);
  put16(body, spec.ciphers.size() * 2);
  for (uint16_t c : spec.ciphers) put16(body, c);
  body.push_back(1);  // compression methods: null
  body.push_back(0);
  std::vector<uint8_t> extensions;
  for (const auto& e : spec.extensions) {
    put16(extensions, e.type);
    put16(extensions, e.body.size());
    extensions.insert(extensions.end(), e.body.begin(), e.body.end());
  }
  put16(body, extensions.size());
  body.insert(body.end(), extensions.begin(), extensions.end());
  std::vector<uint8_t> message{1, static_cast<uint8_t>(body.size() >> 16),
                               static_cast<uint8_t>(body.size() >> 8),
                               static_cast<uint8_t>(body.size())};
  message.insert(message.end(), body.begin(), body.end());
  return message;
}

Extension server_name(const std::string& host) {
  std::vector<uint8_t> b;
  put16(b, host.size() + 3);
  b.push_back(0);  // host_name
  put16(b, host.size());
  b.insert(b.end(), host.begin(), host.end());
  return {0x0000, b};
}

Extension alpn(const std::vector<std::string>& protocols) {
  std::vector<uint8_t> list;
  for (const auto& p : protocols) {
    list.push_back(static_cast<uint8_t>(p.size()));
    list.insert(list.end(), p.begin(), p.end());
  }
  std::vector<uint8_t> b;
  put16(b, list.size());
  b.insert(b.end(), list.begin(), list.end());
  return {0x0010, b};
}

Extension u16_list(uint16_t type, const std::vector<uint16_t>& values) {
  std::vector<uint8_t> b;
  put16(b, values.size() * 2);
  for (uint16_t v : values) put16(b, v);
  return {type, b};
}

Extension supported_versions(const std::vector<uint16_t>& versions) {
  std::vector<uint8_t> b{static_cast<uint8_t>(versions.size() * 2)};
  for (uint16_t v : versions) put16(b, v);
  return {0x002b, b};
}

Extension key_share(const std::vector<uint16_t>& groups) {
  std::vector<uint8_t> shares;
  for (uint16_t g : groups) {
    put16(shares, g);
    put16(shares, 32);
    shares.insert(shares.end(), 32, 0x33);
  }
  std::vector<uint8_t> b;
  put16(b, shares.size());
  b.insert(b.end(), shares.begin(), shares.end());
  return {0x0033, b};
}

Extension opaque(uint16_t type, std::vector<uint8_t> body) {
  return {type, std::move(body)};
}

}  // namespace tlsgate::fingerprint::testing
