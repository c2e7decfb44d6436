// OutboundQueue: one send in flight, bytes queued meanwhile go out next, in
// order; nothing is lost on partial sends; buffers are freed once idle.
#include "terminator/outbound_queue.h"

#include <gtest/gtest.h>

#include <string>

namespace tlsgate::terminator {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string text(std::span<const uint8_t> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

TEST(OutboundQueue, OneSendInFlightAndOrderKept) {
  OutboundQueue q;
  EXPECT_TRUE(q.start_send().empty());
  q.append(bytes("hello "));
  auto first = q.start_send();
  EXPECT_EQ(text(first), "hello ");
  EXPECT_TRUE(q.sending());
  q.append(bytes("world"));
  EXPECT_TRUE(q.start_send().empty()) << "a second send while one is in flight";
  EXPECT_EQ(text(first), "hello ") << "the in-flight bytes must not move";
  EXPECT_EQ(q.pending(), 11u);
  q.complete_send(first.size());
  EXPECT_EQ(text(q.start_send()), "world");
  q.complete_send(5);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.sending());
}

TEST(OutboundQueue, PartialSendResumesWhereItStopped) {
  OutboundQueue q;
  q.append(bytes("abcdef"));
  ASSERT_EQ(q.start_send().size(), 6u);
  q.complete_send(2);
  q.append(bytes("gh"));
  EXPECT_EQ(text(q.start_send()), "cdef");
  q.complete_send(4);
  EXPECT_EQ(text(q.start_send()), "gh");
  q.complete_send(2);
  EXPECT_TRUE(q.empty());
}

TEST(OutboundQueue, FailedSendKeepsTheBytes) {
  OutboundQueue q;
  q.append(bytes("abc"));
  ASSERT_EQ(q.start_send().size(), 3u);
  q.complete_send(0);
  EXPECT_EQ(q.pending(), 3u);
  EXPECT_EQ(text(q.start_send()), "abc");
}

TEST(OutboundQueue, ReleaseNeverDropsQueuedOrInFlightBytes) {
  OutboundQueue q;
  q.append(bytes("abc"));
  auto sent = q.start_send();
  q.release_memory();  // a send reads `sent` right now
  EXPECT_EQ(text(sent), "abc");
  q.append(bytes("de"));
  q.release_memory();
  q.complete_send(3);
  EXPECT_EQ(text(q.start_send()), "de");
}

}  // namespace
}  // namespace tlsgate::terminator
