// Each MALFORMED rule of the parser, one defect at a time, on an otherwise
// valid ClientHello.
#include <gtest/gtest.h>

#include "client_hello_fixtures.h"

namespace tlsgate::test {
namespace {

tg_hello_info parse_with_sni(const std::string& name) {
  ClientHelloBuilder b;
  b.add(sni_extension(name)).add(alpn_extension({"h2"}));
  return parse(b.message());
}

TEST(Malformed, DuplicateExtensionOfAnyType) {
  for (uint16_t type : {uint16_t{0}, uint16_t{16}, uint16_t{43}, uint16_t{23}, uint16_t{51},
                        kGrease1, uint16_t{0xfe0d}}) {
    Extension twice = type == 0    ? sni_extension("dup.example")
                      : type == 16 ? alpn_extension({"h2"})
                      : type == 43 ? supported_versions_extension({0x0304})
                                   : opaque_extension(type, 2);
    ClientHelloBuilder b;
    b.add(twice).add(opaque_extension(77, 3)).add(twice);
    EXPECT_EQ(parse(b.message()).status, TG_HELLO_MALFORMED) << "type " << type;
  }
}

TEST(Malformed, DifferentGreaseValuesAreNotDuplicates) {
  ClientHelloBuilder b;
  b.add(opaque_extension(kGrease1, 0))
      .add(sni_extension("g.example"))
      .add(opaque_extension(kGrease2, 1));
  EXPECT_EQ(parse(b.message()).status, TG_HELLO_OK);
}

TEST(Malformed, TwoHostNames) {
  ClientHelloBuilder b;
  b.add(server_name_list({{0, "a.example"}, {0, "b.example"}}));
  EXPECT_EQ(parse(b.message()).status, TG_HELLO_MALFORMED);
}

TEST(Malformed, BadNames) {
  const std::string label63(63, 'a');
  const std::string label64(64, 'a');
  for (const std::string& name : {std::string(""),
                                  std::string("."),
                                  std::string(".."),
                                  std::string(".a.example"),
                                  std::string("a..example"),
                                  std::string("a.example.."),
                                  label64 + ".example",
                                  std::string("a b.example"),
                                  std::string("a*.example"),
                                  std::string("*.example"),
                                  std::string("a/b.example"),
                                  std::string("a:443"),
                                  std::string("a\x80.example"),
                                  std::string("a\0b.example", 11),
                                  std::string("a.example\0", 10),
                                  std::string("::1"),
                                  std::string("[::1]"),
                                  std::string("1.2.3.4"),
                                  std::string("1.2.3.4."),
                                  std::string("192.168.001.010"),
                                  std::string("10.0.0.1"),
                                  std::string("127.1"),
                                  std::string("0x7f.0x1"),
                                  std::string("example.123"),
                                  std::string("4294967295"),
                                  std::string("a.0x"),
                                  std::string("a.0XFF")}) {
    EXPECT_EQ(parse_with_sni(name).status, TG_HELLO_MALFORMED) << "name \"" << name << "\"";
  }
  EXPECT_EQ(parse_with_sni(label63 + ".example").status, TG_HELLO_OK);
}

TEST(Malformed, NameLengthLimit) {
  // 4 labels of 63 + 3 dots = 255; cut down to 253 and 254.
  std::string l63(63, 'b');
  std::string name253 = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'c');
  ASSERT_EQ(name253.size(), 253u);
  tg_hello_info ok = parse_with_sni(name253);
  ASSERT_EQ(ok.status, TG_HELLO_OK);
  EXPECT_EQ(ok.sni_len, 253);
  EXPECT_EQ(sni_of(ok), name253);
  EXPECT_EQ(parse_with_sni(name253 + ".").status, TG_HELLO_OK);  // the root dot is not counted
  EXPECT_EQ(parse_with_sni(name253 + "c").status, TG_HELLO_MALFORMED);
  EXPECT_EQ(parse_with_sni(name253 + "c.").status, TG_HELLO_MALFORMED);
}

TEST(Malformed, NumericLabelsThatAreNotLast) {
  EXPECT_EQ(parse_with_sni("123.example").status, TG_HELLO_OK);
  EXPECT_EQ(parse_with_sni("1.2.3.4.example").status, TG_HELLO_OK);
  EXPECT_EQ(parse_with_sni("0x1.example").status, TG_HELLO_OK);
  EXPECT_EQ(parse_with_sni("example.0xg").status, TG_HELLO_OK);
  EXPECT_EQ(parse_with_sni("example.x0").status, TG_HELLO_OK);
}

TEST(Malformed, SessionIdLongerThan32) {
  ClientHelloBuilder b;
  b.session_id_len = 33;
  EXPECT_EQ(parse(b.message()).status, TG_HELLO_MALFORMED);
}

TEST(Malformed, CipherSuites) {
  ClientHelloBuilder empty;
  empty.cipher_suites.clear();
  EXPECT_EQ(parse(empty.message()).status, TG_HELLO_MALFORMED);

  Bytes msg = ClientHelloBuilder{}.message();
  size_t cs_len_off = 4 + 2 + 32 + 1 + 32;
  msg[cs_len_off + 1] = static_cast<uint8_t>(msg[cs_len_off + 1] + 1);  // odd length
  EXPECT_EQ(parse(msg).status, TG_HELLO_MALFORMED);
}

TEST(Malformed, NoCompressionMethod) {
  ClientHelloBuilder b;
  b.compression.clear();
  EXPECT_EQ(parse(b.message()).status, TG_HELLO_MALFORMED);
}

// Offsets in a ClientHelloBuilder{} message with one SNI extension.
constexpr size_t kExtLenOff = 4 + 2 + 32 + 1 + 32 + 2 + 10 + 2;

Bytes with_sni(const std::string& name) {
  ClientHelloBuilder b;
  b.add(sni_extension(name));
  return b.message();
}

void add_to_u16(Bytes& msg, size_t off, int delta) {
  int v = (msg[off] << 8 | msg[off + 1]) + delta;
  msg[off] = static_cast<uint8_t>(v >> 8);
  msg[off + 1] = static_cast<uint8_t>(v);
}

TEST(Malformed, LengthsThatDisagree) {
  struct Case {
    const char* what;
    size_t off;
    int delta;
  };
  const size_t ext = kExtLenOff + 2;  // first extension header
  for (const Case& c :
       {Case{"extensions block shorter", kExtLenOff, -1},
        Case{"extensions block longer", kExtLenOff, +1},
        Case{"extension past its block", ext + 2, +1},
        Case{"extension shorter than its list", ext + 2, -1},
        Case{"server_name list longer", ext + 4, +1}, Case{"server_name list shorter", ext + 4, -1},
        Case{"name past the list", ext + 7, +1}, Case{"name shorter than the list", ext + 7, -1}}) {
    Bytes msg = with_sni("len.example");
    ASSERT_EQ(parse(msg).status, TG_HELLO_OK);
    add_to_u16(msg, c.off, c.delta);
    EXPECT_EQ(parse(msg).status, TG_HELLO_MALFORMED) << c.what;
  }
}

TEST(Malformed, MessageLongerThanItsContent) {
  Bytes msg = with_sni("trailing.example");
  msg.push_back(0);
  msg[3] = static_cast<uint8_t>(msg[3] + 1);  // the uint24 length covers the extra byte
  EXPECT_EQ(parse(msg).status, TG_HELLO_MALFORMED);
}

TEST(Malformed, EmptyServerNameExtension) {
  ClientHelloBuilder empty_body;
  empty_body.add(Extension{0, {}});
  EXPECT_EQ(parse(empty_body.message()).status, TG_HELLO_MALFORMED);
  ClientHelloBuilder empty_list;
  empty_list.add(Extension{0, {0, 0}});
  EXPECT_EQ(parse(empty_list.message()).status, TG_HELLO_MALFORMED);
}

TEST(Malformed, Alpn) {
  ClientHelloBuilder empty_list;
  empty_list.add(Extension{16, {0, 0}});
  EXPECT_EQ(parse(empty_list.message()).status, TG_HELLO_MALFORMED);
  ClientHelloBuilder empty_name;
  empty_name.add(alpn_extension({"h2", ""}));
  EXPECT_EQ(parse(empty_name.message()).status, TG_HELLO_MALFORMED);
  ClientHelloBuilder name_past_list;
  name_past_list.add(Extension{16, {0, 3, 5, 'h', '2'}});
  EXPECT_EQ(parse(name_past_list.message()).status, TG_HELLO_MALFORMED);
}

TEST(Malformed, SupportedVersions) {
  ClientHelloBuilder odd;
  odd.add(Extension{43, {3, 3, 4, 3}});
  EXPECT_EQ(parse(odd.message()).status, TG_HELLO_MALFORMED);
  ClientHelloBuilder wrong_len;
  wrong_len.add(Extension{43, {4, 3, 4}});
  EXPECT_EQ(parse(wrong_len.message()).status, TG_HELLO_MALFORMED);
}

TEST(Malformed, NotAClientHello) {
  Bytes msg = browser_like("x.example").message();
  msg[0] = 2;  // ServerHello
  EXPECT_EQ(parse(msg).status, TG_HELLO_NOT_CLIENT_HELLO);
  Bytes one{20};
  EXPECT_EQ(parse(one).status, TG_HELLO_NOT_CLIENT_HELLO);
}

TEST(Malformed, DeclaredLengthTooLarge) {
  Bytes msg{1, 0x00, 0x40, 0x00};  // body 16384: message 16388 > TG_HELLO_MAX
  tg_hello_info info = parse(msg);
  EXPECT_EQ(info.status, TG_HELLO_TOO_LARGE);
  EXPECT_EQ(info.msg_len, 16388u);
  Bytes huge{1, 0xff, 0xff, 0xff};
  EXPECT_EQ(parse(huge).status, TG_HELLO_TOO_LARGE);
}

TEST(Malformed, DefectsInAPrefixAreFinal) {
  Bytes msg = with_sni("a..example");
  tg_hello_info info{};
  // Cut after the SNI extension: the message is incomplete, the name already bad.
  EXPECT_EQ(tg_parse_client_hello(msg.data(), static_cast<__u32>(msg.size() - 0), &info),
            TG_HELLO_MALFORMED);
  ClientHelloBuilder b;
  b.add(sni_extension("a..example")).add(padding_extension(400));
  Bytes longer = b.message();
  EXPECT_EQ(tg_parse_client_hello(longer.data(), static_cast<__u32>(msg.size() + 4), &info),
            TG_HELLO_MALFORMED);
}

}  // namespace
}  // namespace tlsgate::test
