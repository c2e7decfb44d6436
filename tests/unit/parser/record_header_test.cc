#include <gtest/gtest.h>

#include <array>

#include "parse_clienthello.h"

namespace {

int parse_header(std::initializer_list<uint8_t> bytes, __u32* fragment_len) {
  std::array<uint8_t, 8> buf{};
  std::copy(bytes.begin(), bytes.end(), buf.begin());
  return tg_parse_record_header(buf.data(), static_cast<__u32>(bytes.size()), fragment_len);
}

TEST(RecordHeader, HandshakeRecordGivesFragmentLength) {
  __u32 len = 0;
  EXPECT_EQ(parse_header({22, 3, 1, 0x02, 0x00}, &len), TG_HELLO_OK);
  EXPECT_EQ(len, 512u);
  EXPECT_EQ(parse_header({22, 3, 3, 0x41, 0x00}, &len), TG_HELLO_OK);
  EXPECT_EQ(len, 16384u + 256u);
}

TEST(RecordHeader, FewerThanFiveBytesNeedMore) {
  __u32 len = 7;
  EXPECT_EQ(parse_header({}, &len), TG_HELLO_NEED_MORE);
  EXPECT_EQ(parse_header({22}, &len), TG_HELLO_NEED_MORE);
  EXPECT_EQ(parse_header({22, 3, 1, 0}, &len), TG_HELLO_NEED_MORE);
  EXPECT_EQ(len, 0u);
}

TEST(RecordHeader, OtherRecordsAreNotClientHellos) {
  __u32 len = 0;
  EXPECT_EQ(parse_header({23, 3, 3, 0, 10}, &len), TG_HELLO_NOT_CLIENT_HELLO);  // app data
  EXPECT_EQ(parse_header({21, 3, 3, 0, 2}, &len), TG_HELLO_NOT_CLIENT_HELLO);   // alert
  EXPECT_EQ(parse_header({22, 2, 0, 0, 2}, &len), TG_HELLO_NOT_CLIENT_HELLO);   // SSL 2 era
  EXPECT_EQ(parse_header({'G', 'E', 'T', ' ', '/'}, &len), TG_HELLO_NOT_CLIENT_HELLO);
  EXPECT_EQ(parse_header({22, 3, 1, 0x41, 0x01}, &len), TG_HELLO_NOT_CLIENT_HELLO);  // too long
}

TEST(RecordHeader, WrongFirstBytesDecideEarly) {
  __u32 len = 0;
  EXPECT_EQ(parse_header({'G'}, &len), TG_HELLO_NOT_CLIENT_HELLO);
  EXPECT_EQ(parse_header({22, 4}, &len), TG_HELLO_NOT_CLIENT_HELLO);
}

TEST(RecordHeader, EmptyFragmentIsLeftToTheCaller) {
  __u32 len = 9;
  EXPECT_EQ(parse_header({22, 3, 1, 0, 0}, &len), TG_HELLO_OK);
  EXPECT_EQ(len, 0u);
}

}  // namespace
