#include "control/control_protocol.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "common/unique_fd.h"

namespace tlsgate::control {
namespace {

struct SocketPair {
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
  UniqueFd a, b;
};

TEST(ControlProtocol, ResponsesAndLines) {
  EXPECT_EQ(encode_line(ok_response({{"n", 1}})), "{\"ok\":true,\"result\":{\"n\":1}}\n");
  EXPECT_EQ(encode_line(error_response("no")), "{\"error\":\"no\",\"ok\":false}\n");
  // Invalid UTF-8 (a name from the network) is replaced, never thrown.
  EXPECT_EQ(encode_line(nlohmann::json("a\xff")), "\"a\xEF\xBF\xBD\"\n");
}

TEST(LineReader, SplitsLinesAcrossAndWithinReads) {
  SocketPair p;
  write_all(p.a.get(), "{\"a\":1}\n{\"b\"");
  write_all(p.a.get(), ":2}\n\n");
  p.a.reset();
  LineReader reader(p.b.get(), 100);
  EXPECT_EQ(reader.next(), "{\"a\":1}");
  EXPECT_EQ(reader.next(), "{\"b\":2}");
  EXPECT_EQ(reader.next(), "");
  EXPECT_EQ(reader.next(), std::nullopt);
}

TEST(LineReader, RefusesTooLongLinesAndTruncatedOnes) {
  SocketPair p;
  write_all(p.a.get(), std::string(200, 'x'));
  LineReader reader(p.b.get(), 100);
  EXPECT_THROW(reader.next(), std::runtime_error);

  SocketPair q;
  write_all(q.a.get(), "{\"half\":");
  q.a.reset();
  LineReader truncated(q.b.get(), 100);
  EXPECT_THROW(truncated.next(), std::runtime_error);
}

TEST(LineReader, TimesOutOnASilentPeer) {
  SocketPair p;
  const timeval short_timeout{0, 1000};
  ASSERT_EQ(::setsockopt(p.b.get(), SOL_SOCKET, SO_RCVTIMEO, &short_timeout, sizeof short_timeout),
            0);
  LineReader reader(p.b.get(), 100);
  EXPECT_THROW(reader.next(), std::runtime_error);
}

}  // namespace
}  // namespace tlsgate::control
