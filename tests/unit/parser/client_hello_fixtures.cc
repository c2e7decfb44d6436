#include "client_hello_fixtures.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <stdexcept>

namespace tlsgate::test {

namespace {

struct SslCtxFree {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
struct SslFree {
  void operator()(SSL* p) const { SSL_free(p); }
};

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL: ") + what);
}

}  // namespace

void put_u16(Bytes& out, size_t value) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}

void put_u24(Bytes& out, size_t value) {
  out.push_back(static_cast<uint8_t>(value >> 16));
  put_u16(out, value & 0xffff);
}

Bytes openssl_client_flight(const OpensslHelloOptions& options) {
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  check(ctx != nullptr, "SSL_CTX_new");
  if (options.min_version != 0) {
    check(SSL_CTX_set_min_proto_version(ctx.get(), options.min_version) == 1, "min version");
  }
  if (options.max_version != 0) {
    check(SSL_CTX_set_max_proto_version(ctx.get(), options.max_version) == 1, "max version");
  }
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  check(ssl != nullptr, "SSL_new");
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  check(rbio != nullptr && wbio != nullptr, "BIO_new");
  SSL_set_bio(ssl.get(), rbio, wbio);  // ssl owns both
  if (!options.sni.empty()) {
    check(SSL_set_tlsext_host_name(ssl.get(), options.sni.c_str()) == 1, "SNI");
  }
  if (!options.alpn.empty()) {
    Bytes wire;
    for (const auto& p : options.alpn) {
      wire.push_back(static_cast<uint8_t>(p.size()));
      wire.insert(wire.end(), p.begin(), p.end());
    }
    check(SSL_set_alpn_protos(ssl.get(), wire.data(), static_cast<unsigned>(wire.size())) == 0,
          "ALPN");
  }
  int ret = SSL_connect(ssl.get());
  check(ret < 0 && SSL_get_error(ssl.get(), ret) == SSL_ERROR_WANT_READ, "SSL_connect");
  char* data = nullptr;
  long n = BIO_get_mem_data(wbio, &data);
  check(n > 0, "no ClientHello written");
  return Bytes(data, data + n);
}

Bytes handshake_from_records(std::span<const uint8_t> flight) {
  Bytes message;
  size_t off = 0;
  while (off + 5 <= flight.size()) {
    size_t len = size_t{flight[off + 3]} << 8 | flight[off + 4];
    if (flight[off] != 22 || off + 5 + len > flight.size()) throw std::runtime_error("bad flight");
    message.insert(message.end(), flight.begin() + static_cast<long>(off) + 5,
                   flight.begin() + static_cast<long>(off + 5 + len));
    off += 5 + len;
  }
  return message;
}

Bytes as_record(std::span<const uint8_t> message) {
  Bytes out{22, 3, 1};
  put_u16(out, message.size());
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

Extension sni_extension(std::string_view host_name) {
  return server_name_list({{0, std::string(host_name)}});
}

Extension server_name_list(const std::vector<std::pair<uint8_t, std::string>>& entries) {
  Bytes list;
  for (const auto& [type, name] : entries) {
    list.push_back(type);
    put_u16(list, name.size());
    list.insert(list.end(), name.begin(), name.end());
  }
  Extension e{0, {}};
  put_u16(e.body, list.size());
  e.body.insert(e.body.end(), list.begin(), list.end());
  return e;
}

Extension alpn_extension(const std::vector<std::string>& protocols) {
  Bytes list;
  for (const auto& p : protocols) {
    list.push_back(static_cast<uint8_t>(p.size()));
    list.insert(list.end(), p.begin(), p.end());
  }
  Extension e{16, {}};
  put_u16(e.body, list.size());
  e.body.insert(e.body.end(), list.begin(), list.end());
  return e;
}

Extension supported_versions_extension(const std::vector<uint16_t>& versions) {
  Extension e{43, {static_cast<uint8_t>(versions.size() * 2)}};
  for (uint16_t v : versions) put_u16(e.body, v);
  return e;
}

Extension key_share_extension(uint16_t group, size_t key_len) {
  Extension e{51, {}};
  put_u16(e.body, key_len + 4);
  put_u16(e.body, group);
  put_u16(e.body, key_len);
  for (size_t i = 0; i < key_len; ++i) e.body.push_back(static_cast<uint8_t>(i * 7));
  return e;
}

Extension padding_extension(size_t len) {
  return Extension{21, Bytes(len, 0)};
}

Extension opaque_extension(uint16_t type, size_t len) {
  Extension e{type, {}};
  for (size_t i = 0; i < len; ++i) e.body.push_back(static_cast<uint8_t>(i));
  return e;
}

Bytes ClientHelloBuilder::message() const {
  Bytes body;
  put_u16(body, legacy_version);
  for (int i = 0; i < 32; ++i) body.push_back(static_cast<uint8_t>(0xa0 + i));  // random
  body.push_back(static_cast<uint8_t>(session_id_len));
  for (size_t i = 0; i < session_id_len; ++i) body.push_back(static_cast<uint8_t>(i));
  put_u16(body, cipher_suites.size() * 2);
  for (uint16_t cs : cipher_suites) put_u16(body, cs);
  body.push_back(static_cast<uint8_t>(compression.size()));
  body.insert(body.end(), compression.begin(), compression.end());
  if (with_extensions) {
    Bytes exts;
    for (const auto& e : extensions) {
      put_u16(exts, e.type);
      put_u16(exts, e.body.size());
      exts.insert(exts.end(), e.body.begin(), e.body.end());
    }
    put_u16(body, exts.size());
    body.insert(body.end(), exts.begin(), exts.end());
  }
  Bytes message{1};
  put_u24(message, body.size());
  message.insert(message.end(), body.begin(), body.end());
  return message;
}

ClientHelloBuilder browser_like(std::string_view host_name) {
  ClientHelloBuilder b;
  b.add(opaque_extension(kGrease1, 0))
      .add(sni_extension(host_name))
      .add(opaque_extension(23, 0))     // extended_master_secret
      .add(opaque_extension(65281, 1))  // renegotiation_info
      .add(opaque_extension(10, 8))     // supported_groups
      .add(alpn_extension({"h2", "http/1.1"}))
      .add(opaque_extension(13, 18))  // signature_algorithms
      .add(key_share_extension(0x001d, 32))
      .add(supported_versions_extension({kGrease2, 0x0304, 0x0303}))
      .add(opaque_extension(kGrease2, 1));
  return b;
}

tg_hello_info parse(std::span<const uint8_t> message) {
  tg_hello_info info{};
  tg_parse_client_hello(message.data(), static_cast<__u32>(message.size()), &info);
  return info;
}

std::string sni_of(const tg_hello_info& info) {
  return std::string(info.sni, info.sni_len);
}

}  // namespace tlsgate::test
