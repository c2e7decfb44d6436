// The kernel's hello_probe runs the shared parser (bpf/parse_clienthello.h)
// as verified BPF code; on the same bytes it must answer exactly what the
// userspace build of the parser answers.
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include "../unit/parser/client_hello_fixtures.h"
#include "frames.h"
#include "netns.h"
#include "steer_object.h"

namespace tlsgate::test {
namespace {

struct HelloCase {
  std::string name;
  Bytes payload;  // TCP payload: TLS records, or anything else
};

std::vector<HelloCase> hello_cases() {
  std::vector<HelloCase> cases;
  auto add = [&cases](std::string name, Bytes payload) {
    cases.push_back({std::move(name), std::move(payload)});
  };
  add("openssl_tls13_sni_alpn",
      openssl_client_flight({"www.example.com", {"h2", "http/1.1"}, 0, 0}));
  add("openssl_tls12",
      openssl_client_flight({"legacy.example", {}, TLS1_2_VERSION, TLS1_2_VERSION}));
  add("openssl_no_sni", openssl_client_flight({"", {"h2"}, 0, 0}));
  add("openssl_upper_case", openssl_client_flight({"MiXeD.Example.ORG", {}, 0, 0}));
  add("browser_like", as_record(browser_like("mail.example.net").message()));
  ClientHelloBuilder padded = browser_like("padded.example");
  padded.add(padding_extension(1500));
  add("padded_2k", as_record(padded.message()));
  ClientHelloBuilder trailing_dot;
  trailing_dot.add(sni_extension("Dot.Example."));
  add("trailing_dot", as_record(trailing_dot.message()));
  ClientHelloBuilder dup;
  dup.add(sni_extension("a.example")).add(opaque_extension(23, 0)).add(opaque_extension(23, 0));
  add("duplicate_extension", as_record(dup.message()));
  ClientHelloBuilder ip;
  ip.add(sni_extension("192.0.2.1"));
  add("ip_literal_sni", as_record(ip.message()));
  ClientHelloBuilder long_label;
  long_label.add(sni_extension(std::string(64, 'l') + ".example"));
  add("label_too_long", as_record(long_label.message()));
  add("not_tls", Bytes{'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1'});
  add("server_hello_record", Bytes{22, 3, 3, 0, 4, 2, 0, 0, 0});
  add("too_large", Bytes{22, 3, 1, 0, 4, 1, 0, 0x40, 0x01});
  // The record continues in the next segment: the SNI is already there.
  ClientHelloBuilder split;
  split.add(sni_extension("split.example")).add(padding_extension(2500));
  Bytes record = as_record(split.message());
  record.resize(1400);
  add("first_segment_only", record);
  // The handshake message continues in a second record.
  Bytes message = browser_like("frag.example").message();
  Bytes first(message.begin(), message.begin() + 100);
  add("message_split_over_records", as_record(first));
  return cases;
}

class HelloProbe : public NetnsTest {};

TEST_F(HelloProbe, KernelAndUserspaceParsersAgree) {
  LoadedSteer prog;
  for (const auto& c : hello_cases()) {
    SCOPED_TRACE(c.name);
    Bytes frame = build_tcp_frame(
        {.src = "192.168.7.20", .dst = "203.0.113.10", .flags = kAck | kPsh, .payload = c.payload});
    prog.run_hello_probe(frame);
    tg_hello_info kernel = prog.hello_result();

    // What userspace makes of the same bytes: the first record's fragment.
    tg_hello_info user{};
    __u32 fragment_len = 0;
    int st = tg_parse_record_header(c.payload.data(), static_cast<__u32>(c.payload.size()),
                                    &fragment_len);
    if (st == TG_HELLO_OK) {
      size_t n = std::min<size_t>(fragment_len, c.payload.size() - 5);
      tg_parse_client_hello(c.payload.data() + 5, static_cast<__u32>(n), &user);
    } else {
      user.status = static_cast<__u32>(st);
    }

    EXPECT_EQ(kernel.status, user.status);
    EXPECT_EQ(kernel.msg_len, user.msg_len);
    EXPECT_EQ(kernel.legacy_version, user.legacy_version);
    EXPECT_EQ(kernel.has_sni, user.has_sni);
    EXPECT_EQ(kernel.sni_len, user.sni_len);
    EXPECT_STREQ(kernel.sni, user.sni);
    EXPECT_EQ(kernel.cipher_suites_off, user.cipher_suites_off);
    EXPECT_EQ(kernel.cipher_suites_len, user.cipher_suites_len);
    EXPECT_EQ(kernel.extensions_off, user.extensions_off);
    EXPECT_EQ(kernel.extensions_len, user.extensions_len);
    EXPECT_EQ(kernel.alpn_off, user.alpn_off);
    EXPECT_EQ(kernel.alpn_len, user.alpn_len);
    EXPECT_EQ(kernel.supported_versions_off, user.supported_versions_off);
    EXPECT_EQ(kernel.supported_versions_len, user.supported_versions_len);
  }
}

TEST_F(HelloProbe, ExpectedVerdicts) {
  // The differential test above could pass with both sides wrong; pin a few.
  LoadedSteer prog;
  auto probe = [&prog](const Bytes& payload) {
    prog.run_hello_probe(build_tcp_frame(
        {.src = "fd00:7::20", .dst = "2001:db8::10", .flags = kAck, .payload = payload}));
    return prog.hello_result();
  };
  tg_hello_info ok = probe(openssl_client_flight({"WWW.Example.COM.", {}, 0, 0}));
  EXPECT_EQ(ok.status, TG_HELLO_OK);
  EXPECT_STREQ(ok.sni, "www.example.com");

  ClientHelloBuilder split;
  split.add(sni_extension("split.example")).add(padding_extension(2500));
  Bytes record = as_record(split.message());
  record.resize(1400);
  tg_hello_info partial = probe(record);
  EXPECT_EQ(partial.status, TG_HELLO_NEED_MORE);
  EXPECT_EQ(partial.has_sni, 1);
  EXPECT_STREQ(partial.sni, "split.example");

  ClientHelloBuilder ip;
  ip.add(sni_extension("10.0.0.1"));
  EXPECT_EQ(probe(as_record(ip.message())).status, TG_HELLO_MALFORMED);
  EXPECT_EQ(probe(Bytes{'G', 'E', 'T', ' ', '/'}).status, TG_HELLO_NOT_CLIENT_HELLO);
}

}  // namespace
}  // namespace tlsgate::test
