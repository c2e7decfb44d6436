#include "hello_corpus.h"

#include <algorithm>
#include <random>

namespace tlsgate::test {

namespace {

std::string long_name(const std::string& suffix, size_t labels, size_t label_len) {
  std::string name;
  for (size_t i = 0; i < labels; ++i)
    name += std::string(label_len, static_cast<char>('a' + i % 26)) + ".";
  return name + suffix;
}

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  size_t below(size_t n) { return static_cast<size_t>(rng_() % n); }
  bool chance(unsigned percent) { return below(100) < percent; }

  uint16_t grease() { return static_cast<uint16_t>(0x0a0a + 0x1010 * below(16)); }

  HelloCase make() {
    HelloCase c;
    ClientHelloBuilder b;
    b.session_id_len = chance(70) ? 32 : 0;
    b.cipher_suites.clear();
    if (chance(80)) b.cipher_suites.push_back(grease());
    for (size_t i = 0, n = 1 + below(16); i < n; ++i) {
      b.cipher_suites.push_back(
          static_cast<uint16_t>(0x1301 + below(3) + (chance(50) ? 0xc000 : 0)));
    }
    std::vector<Extension> ext;
    if (chance(85)) {
      const auto& names = corpus_names();
      c.sni = names[below(names.size())];
      ext.push_back(sni_extension(*c.sni));
    }
    if (chance(80)) ext.push_back(opaque_extension(grease(), below(2)));
    if (chance(80))
      ext.push_back(alpn_extension(chance(50) ? std::vector<std::string>{"h2", "http/1.1"}
                                              : std::vector<std::string>{"http/1.1"}));
    if (chance(90)) ext.push_back(supported_versions_extension({grease(), 0x0304, 0x0303}));
    // Key shares: X25519, or X25519MLKEM768 (1216 bytes) as current browsers send.
    ext.push_back(chance(55) ? key_share_extension(0x11ec, 1216) : key_share_extension(0x001d, 32));
    if (chance(90)) ext.push_back(opaque_extension(10, 2 * (2 + below(6))));  // supported_groups
    if (chance(90))
      ext.push_back(opaque_extension(13, 2 * (4 + below(12))));  // signature_algorithms
    if (chance(60)) ext.push_back(opaque_extension(23, 0));      // extended_master_secret
    if (chance(60)) ext.push_back(opaque_extension(65281, 1));   // renegotiation_info
    if (chance(50)) ext.push_back(opaque_extension(5, 5));       // status_request
    if (chance(40)) ext.push_back(opaque_extension(45, 2));      // psk_key_exchange_modes
    if (chance(30)) ext.push_back(opaque_extension(0xfe0d, 150 + below(200)));  // ECH
    if (chance(30)) ext.push_back(opaque_extension(17513, 5));  // application_settings
    if (chance(40)) ext.push_back(padding_extension(below(600)));
    // A per-connection extension order (Chromium shuffles; GREASE anywhere).
    std::shuffle(ext.begin(), ext.end(), rng_);
    for (auto& e : ext) b.add(std::move(e));
    Bytes message = b.message();
    c.what = std::string(c.sni ? "sni=" + *c.sni : "no sni") +
             " ext=" + std::to_string(ext.size()) + " len=" + std::to_string(message.size());

    if (chance(20)) malform(c, b, message);

    // Records: usually one, sometimes the message split over two.
    Bytes flight;
    if (chance(12) && message.size() > 40) {
      size_t cut = 1 + below(message.size() - 1);
      Bytes a = as_record(std::span<const uint8_t>(message).first(cut));
      Bytes z = as_record(std::span<const uint8_t>(message).subspan(cut));
      flight = a;
      flight.insert(flight.end(), z.begin(), z.end());
      c.what += " records@" + std::to_string(cut);
    } else {
      flight = as_record(message);
    }
    if (c.well_formed && chance(2)) {  // not TLS at all
      flight =
          Bytes{'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1', '\r', '\n'};
      c.well_formed = false;
      c.what = "http";
    }

    // Segments: cut at an MSS, as the client's TCP would.
    static constexpr size_t kMss[] = {536, 1200, 1220, 1380, 1400, 1448, 1460, 16384};
    size_t mss = kMss[below(std::size(kMss))];
    if (chance(5)) mss = 1 + below(64);  // a pathological client
    for (size_t off = 0; off < flight.size(); off += mss) {
      size_t end = std::min(flight.size(), off + mss);
      c.segments.emplace_back(flight.begin() + static_cast<long>(off),
                              flight.begin() + static_cast<long>(end));
    }
    c.what += " mss=" + std::to_string(mss);
    return c;
  }

 private:
  void malform(HelloCase& c, ClientHelloBuilder& b, Bytes& message) {
    c.well_formed = false;
    switch (below(8)) {
      case 0: {  // a random byte flipped
        size_t at = below(message.size());
        message[at] = static_cast<uint8_t>(message[at] ^ (1 + below(255)));
        c.what += " flip@" + std::to_string(at);
        return;
      }
      case 1: {  // declared length off
        size_t len =
            message.size() - 4 + (chance(50) ? 1 + below(20) : 0) - (chance(50) ? below(20) : 0);
        message[1] = static_cast<uint8_t>(len >> 16);
        message[2] = static_cast<uint8_t>(len >> 8);
        message[3] = static_cast<uint8_t>(len);
        c.what += " declared=" + std::to_string(len);
        return;
      }
      case 2: {  // a duplicate extension
        b.add(b.extensions[below(b.extensions.size())]);
        c.what += " duplicate";
        break;
      }
      case 3: {  // a bad host name
        static const char* kBad[] = {"10.0.0.1",         "a..example",  "bad name.example",
                                     "0x7f.example.0x1", "example.123", "-.example"};
        std::string bad = kBad[below(std::size(kBad))];
        if (chance(30)) bad = std::string(64, 'l') + ".pay.example";
        for (auto& e : b.extensions) {
          if (e.type == 0) e = sni_extension(bad);
        }
        if (!c.sni) b.add(sni_extension(bad));
        c.sni = bad;
        c.what += " bad_sni=" + bad;
        break;
      }
      case 4:  // not a ClientHello
        message[0] = 2;
        c.what += " server_hello";
        return;
      case 5: {  // too many extensions
        for (int i = 0; i < 70; ++i) b.add(opaque_extension(static_cast<uint16_t>(0x3000 + i), 0));
        c.what += " 70_more_extensions";
        break;
      }
      case 6: {  // an SNI list with two host names
        for (auto& e : b.extensions) {
          if (e.type == 0) e = server_name_list({{0, "bank.example"}, {0, "evil.example"}});
        }
        c.what += " two_host_names";
        if (!c.sni) return;
        break;
      }
      default: {  // truncated: the message stops early, the record says so too
        size_t keep = 4 + below(message.size() - 4);
        message.resize(keep);
        c.what += " cut@" + std::to_string(keep);
        return;
      }
    }
    message = b.message();
  }

  std::mt19937 rng_;
};

}  // namespace

const std::vector<std::string>& corpus_names() {
  static const std::vector<std::string> names = {
      "bank.example",
      "BANK.Example",
      "bank.example.",
      "www.bank.example",
      "bank.example.evil",
      "bankexample",
      "pay.example",
      "a.pay.example",
      "x.y.z.pay.example",
      "A.Pay.Example.",
      "apay.example",
      "pay.example.com",
      "a-b_c.pay.example",
      "xn--bcher-kva.pay.example",
      "evil.example",
      "deep.b.c.example",
      "b.c.example",
      "c.example",
      "tracker.example",
      long_name("pay.example", 40, 4),  // 200+ bytes, 42 labels
      long_name("other.example", 3, 63),
      long_name("pay.example", 3, 63),
      "1.2.3.pay.example",
      "x",
      "_dmarc.pay.example"};
  return names;
}

const std::vector<std::string>& corpus_bypass_patterns() {
  static const std::vector<std::string> patterns = {"bank.example", "*.pay.example",
                                                    "*.b.c.example", "x"};
  return patterns;
}

std::vector<HelloCase> generate_hello_corpus(uint32_t seed, size_t count) {
  Generator g(seed);
  std::vector<HelloCase> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) out.push_back(g.make());
  return out;
}

}  // namespace tlsgate::test
