#include "control/peer_access.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace tlsgate::control {
namespace {

TEST(PeerAccess, RootTheDaemonsUserAndTheAdminGroupOnly) {
  const AccessPolicy policy{998, 997};
  EXPECT_TRUE(peer_allowed({1, 0, 0, {}}, policy));               // root
  EXPECT_TRUE(peer_allowed({1, 998, 998, {}}, policy));           // the daemon's user
  EXPECT_TRUE(peer_allowed({1, 1000, 997, {}}, policy));          // primary group tlsgate
  EXPECT_TRUE(peer_allowed({1, 1000, 1000, {27, 997}}, policy));  // supplementary
  EXPECT_FALSE(peer_allowed({1, 1000, 1000, {27, 100}}, policy));
  EXPECT_FALSE(peer_allowed({1, 65534, 65534, {}}, policy));
  const AccessPolicy no_group{0, std::nullopt};
  EXPECT_FALSE(peer_allowed({1, 1000, 997, {997}}, no_group));
  EXPECT_TRUE(peer_allowed({1, 0, 0, {}}, no_group));
}

TEST(PeerAccess, TheKernelNamesThePeer) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd a(fds[0]), b(fds[1]);
  const PeerCredentials peer = peer_credentials(a.get());
  EXPECT_EQ(peer.pid, ::getpid());
  EXPECT_EQ(peer.uid, ::geteuid());
  EXPECT_EQ(peer.gid, ::getegid());
  std::vector<gid_t> groups(static_cast<size_t>(::getgroups(0, nullptr)));
  ASSERT_EQ(::getgroups(static_cast<int>(groups.size()), groups.data()),
            static_cast<int>(groups.size()));
  EXPECT_EQ(peer.groups.size(), groups.size());
}

TEST(PeerAccess, GroupLookup) {
  EXPECT_EQ(group_id("root"), gid_t{0});
  EXPECT_EQ(group_id("no-such-group-tlsgate-test"), std::nullopt);
}

}  // namespace
}  // namespace tlsgate::control
