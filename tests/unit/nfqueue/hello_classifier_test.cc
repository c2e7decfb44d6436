// The userspace side of the BYPASS_VERIFY decision: the first segment as the
// kernel classifies it, then the queued segments reassembled (any order,
// duplicates, records split) until the SNI is known.
#include "nfqueue/hello_classifier.h"

#include <gtest/gtest.h>

#include "../parser/client_hello_fixtures.h"
#include "policy/kernel_rule_compiler.h"

namespace tlsgate::nfqueue {
namespace {

using test::Bytes;

policy::SniBypassSet names() {
  static const std::vector<policy::KernelSniEntry> entries{{"bank.example", false, 0},
                                                           {"pay.example", true, 1}};
  return policy::SniBypassSet(entries);
}

// A post-quantum-sized ClientHello with the SNI as its last extension.
Bytes late_sni_record(const std::string& sni) {
  test::ClientHelloBuilder b;
  b.add(test::opaque_extension(test::kGrease1, 0))
      .add(test::key_share_extension(0x11ec, 1216))
      .add(test::padding_extension(300))
      .add(test::sni_extension(sni));
  return test::as_record(b.message());
}

std::span<const uint8_t> part(const Bytes& b, size_t from, size_t to) {
  return std::span<const uint8_t>(b).subspan(from, to - from);
}

TEST(FirstSegment, DecidesWhenTheSniIsThere) {
  auto set = names();
  auto pass = classify_first_segment(test::openssl_client_flight({"bank.example", {}, 0, 0}), set);
  EXPECT_EQ(pass.verdict, TG_VERDICT_PASS);
  EXPECT_EQ(pass.sni(), "bank.example");
  EXPECT_EQ(
      classify_first_segment(test::openssl_client_flight({"a.pay.example", {}, 0, 0}), set).verdict,
      TG_VERDICT_PASS);
  EXPECT_EQ(
      classify_first_segment(test::openssl_client_flight({"pay.example", {}, 0, 0}), set).verdict,
      TG_VERDICT_RESET);
  EXPECT_EQ(classify_first_segment(test::openssl_client_flight({"", {}, 0, 0}), set).verdict,
            TG_VERDICT_RESET);
  EXPECT_EQ(classify_first_segment(Bytes{'G', 'E', 'T', ' ', '/', ' '}, set).verdict,
            TG_VERDICT_RESET);
}

TEST(FirstSegment, LateSniOrTinySegmentGoesToUserspace) {
  auto set = names();
  Bytes record = late_sni_record("bank.example");
  auto d = classify_first_segment(part(record, 0, 1400), set);
  EXPECT_EQ(d.verdict, TG_VERDICT_USERSPACE);
  EXPECT_EQ(d.info.status, TG_HELLO_NEED_MORE);
  EXPECT_EQ(classify_first_segment(part(record, 0, 3), set).verdict, TG_VERDICT_USERSPACE);
}

TEST(QueuedHello, TwoSegmentsInOrder) {
  auto set = names();
  Bytes record = late_sni_record("bank.example");
  QueuedHello q(1000);
  EXPECT_EQ(q.add(1000, part(record, 0, 1400), set).verdict, TG_VERDICT_USERSPACE);
  EXPECT_FALSE(q.decided());
  auto d = q.add(1000 + 1400, part(record, 1400, record.size()), set);
  EXPECT_EQ(d.verdict, TG_VERDICT_PASS);
  EXPECT_EQ(d.sni(), "bank.example");
}

TEST(QueuedHello, OutOfOrderDuplicatesAndOverlaps) {
  auto set = names();
  Bytes record = late_sni_record("evil.example");
  const uint32_t isn = 0xfffffc00;  // the sequence space wraps inside the hello
  QueuedHello q(isn);
  EXPECT_FALSE(q.add(isn + 1000, part(record, 1000, record.size()), set).verdict ==
               TG_VERDICT_RESET);  // a gap before it: nothing to parse yet
  EXPECT_FALSE(q.decided());
  q.add(isn, part(record, 0, 600), set);
  q.add(isn, part(record, 0, 600), set);  // retransmitted
  EXPECT_FALSE(q.decided());
  auto d = q.add(isn + 500, part(record, 500, 1100), set);  // overlaps both
  EXPECT_EQ(d.verdict, TG_VERDICT_RESET);
  EXPECT_EQ(d.sni(), "evil.example");
  EXPECT_EQ(q.contiguous_bytes(), record.size());
}

TEST(QueuedHello, MessageSplitOverRecords) {
  auto set = names();
  test::ClientHelloBuilder b;
  b.add(test::key_share_extension(0x11ec, 1216)).add(test::sni_extension("x.pay.example"));
  Bytes message = b.message();
  Bytes flight = test::as_record(part(message, 0, 900));
  Bytes second = test::as_record(part(message, 900, message.size()));
  flight.insert(flight.end(), second.begin(), second.end());
  QueuedHello q(7);
  q.add(7, part(flight, 0, 905), set);
  EXPECT_FALSE(q.decided());
  EXPECT_EQ(q.add(7 + 905, part(flight, 905, flight.size()), set).verdict, TG_VERDICT_PASS);
}

TEST(QueuedHello, DecisionLatches) {
  auto set = names();
  Bytes record = late_sni_record("bank.example");
  QueuedHello q(1);
  q.add(1, record, set);
  ASSERT_EQ(q.decision().verdict, TG_VERDICT_PASS);
  Bytes junk(100, 0xff);
  EXPECT_EQ(q.add(1 + static_cast<uint32_t>(record.size()), junk, set).verdict, TG_VERDICT_PASS);
}

TEST(QueuedHello, FirstSegmentDecidesLikeTheKernel) {
  // The kernel parses the first record only: a complete first record without
  // SNI is refused there even if a second record follows in the segment.
  auto set = names();
  Bytes flight = test::openssl_client_flight({"", {}, 0, 0});
  Bytes more = test::as_record(Bytes{1, 0, 0, 0});
  flight.insert(flight.end(), more.begin(), more.end());
  QueuedHello q(1);
  EXPECT_EQ(q.add(1, flight, set).verdict, TG_VERDICT_RESET);
}

TEST(QueuedHello, NoSniWithinTheLimitIsRefused) {
  auto set = names();
  // A record announcing a huge handshake message whose extensions never end.
  test::ClientHelloBuilder b;
  b.add(test::padding_extension(15000)).add(test::sni_extension("bank.example"));
  Bytes message = b.message();
  Bytes flight;
  for (size_t off = 0; off < message.size(); off += 1000) {
    Bytes rec = test::as_record(part(message, off, std::min(message.size(), off + 1000)));
    flight.insert(flight.end(), rec.begin(), rec.end());
  }
  QueuedHello q(1);
  // Everything up to the SNI is there: still undecided; then the SNI decides.
  q.add(1, part(flight, 0, flight.size() - 20), set);
  EXPECT_FALSE(q.decided());
  EXPECT_EQ(q.add(1 + static_cast<uint32_t>(flight.size() - 20),
                  part(flight, flight.size() - 20, flight.size()), set)
                .verdict,
            TG_VERDICT_PASS);

  QueuedHello endless(1);
  Bytes zeros(QueuedHello::kMaxStream, 0);
  Bytes head = test::as_record(part(message, 0, 1000));
  std::copy(head.begin(), head.end(), zeros.begin());
  EXPECT_EQ(endless.add(1, zeros, set).verdict, TG_VERDICT_RESET);
}

}  // namespace
}  // namespace tlsgate::nfqueue
