// The terminator's first read: whole ClientHellos across segments and records.
#include "terminator/client_hello_reader.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <string>
#include <vector>

#include "tls/openssl_handles.h"

namespace tlsgate::terminator {
namespace {

// A real ClientHello from OpenSSL: an SSL client over memory BIOs.
std::vector<uint8_t> openssl_client_hello(const char* sni, const std::vector<std::string>& alpn) {
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  tls::SslPtr ssl(SSL_new(ctx.get()));
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), rbio, wbio);
  if (sni) SSL_set_tlsext_host_name(ssl.get(), sni);
  std::vector<uint8_t> wire;
  for (const auto& p : alpn) {
    wire.push_back(static_cast<uint8_t>(p.size()));
    wire.insert(wire.end(), p.begin(), p.end());
  }
  if (!wire.empty())
    SSL_set_alpn_protos(ssl.get(), wire.data(), static_cast<unsigned>(wire.size()));
  SSL_connect(ssl.get());
  std::vector<uint8_t> out(BIO_ctrl_pending(wbio));
  BIO_read(wbio, out.data(), static_cast<int>(out.size()));
  return out;
}

// Re-frames one record's handshake message into records of at most `chunk` bytes.
std::vector<uint8_t> refragment(const std::vector<uint8_t>& record, size_t chunk) {
  std::vector<uint8_t> msg(record.begin() + 5, record.end());
  std::vector<uint8_t> out;
  for (size_t off = 0; off < msg.size(); off += chunk) {
    size_t n = std::min(chunk, msg.size() - off);
    out.insert(out.end(), {22, 3, 1, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)});
    out.insert(out.end(), msg.begin() + static_cast<long>(off),
               msg.begin() + static_cast<long>(off + n));
  }
  return out;
}

TEST(ClientHelloReader, WholeHelloInOneRead) {
  auto hello = openssl_client_hello("Shop.Example.", {"h2", "http/1.1"});
  ClientHelloReader r(16384);
  EXPECT_EQ(r.feed(hello), ClientHelloReader::Status::complete);
  EXPECT_EQ(r.sni(), "shop.example");  // normalized: the name policy, upstream and validation use
  EXPECT_EQ(r.alpn_offered(), (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_EQ(r.raw(), hello);  // replayed byte for byte
}

TEST(ClientHelloReader, ByteAtATimeNeedsEveryByte) {
  auto hello = openssl_client_hello("a.example", {});
  ClientHelloReader r(16384);
  for (size_t i = 0; i + 1 < hello.size(); ++i) {
    ASSERT_EQ(r.feed({&hello[i], 1}), ClientHelloReader::Status::need_more) << "at byte " << i;
  }
  EXPECT_EQ(r.feed({&hello.back(), 1}), ClientHelloReader::Status::complete);
  EXPECT_EQ(r.sni(), "a.example");
  EXPECT_TRUE(r.alpn_offered().empty());
}

TEST(ClientHelloReader, HelloSplitAcrossRecords) {
  auto hello = refragment(openssl_client_hello("split.example", {"http/1.1"}), 100);
  ClientHelloReader r(16384);
  EXPECT_EQ(r.feed(hello), ClientHelloReader::Status::complete);
  EXPECT_EQ(r.sni(), "split.example");
  EXPECT_EQ(r.alpn_offered(), std::vector<std::string>{"http/1.1"});
}

TEST(ClientHelloReader, NoSniIsCompleteWithEmptyName) {
  ClientHelloReader r(16384);
  EXPECT_EQ(r.feed(openssl_client_hello(nullptr, {})), ClientHelloReader::Status::complete);
  EXPECT_EQ(r.sni(), "");
}

TEST(ClientHelloReader, PlainHttpIsNotTls) {
  std::string get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ClientHelloReader r(16384);
  EXPECT_EQ(r.feed({reinterpret_cast<const uint8_t*>(get.data()), get.size()}),
            ClientHelloReader::Status::not_tls);
}

TEST(ClientHelloReader, OversizedHelloIsRefused) {
  auto hello = openssl_client_hello("big.example", {});
  ClientHelloReader r(hello.size() - 10);  // the limit is below this hello's size
  EXPECT_EQ(r.feed(hello), ClientHelloReader::Status::too_large);
}

TEST(ClientHelloReader, AlertRecordInsideHelloIsMalformed) {
  auto hello = refragment(openssl_client_hello("x.example", {}), 50);
  std::vector<uint8_t> bad(hello.begin(), hello.begin() + 55);  // first record whole
  bad.insert(bad.end(), {21, 3, 3, 0, 2, 2, 40});               // then an alert record
  ClientHelloReader r(16384);
  EXPECT_EQ(r.feed(bad), ClientHelloReader::Status::malformed);
}

TEST(ClientHelloReader, HandshakeRecordWithoutClientHelloIsMalformed) {
  // A ServerHello-typed handshake message where a ClientHello must be.
  std::vector<uint8_t> msg = {22, 3, 3, 0, 8, 2, 0, 0, 4, 3, 3, 0, 0};
  ClientHelloReader r(16384);
  EXPECT_EQ(r.feed(msg), ClientHelloReader::Status::malformed);
}

}  // namespace
}  // namespace tlsgate::terminator
