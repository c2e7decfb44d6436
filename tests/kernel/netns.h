// Network namespaces for kernel tests: every test runs in a fresh private
// one (the "router"), and may create a second one (a LAN "client") joined to
// it by a veth pair. Nothing touches the host's interfaces; everything goes
// away with the test process.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "common/unique_fd.h"

namespace tlsgate::test {

void set_running_as_root(bool root);
bool running_as_root();

// Runs a shell command; fails the test (and returns its output anyway) when
// it exits non-zero.
std::string run(const std::string& command);

// Moves the calling thread into a new network namespace with lo up.
void enter_private_netns();

// A network namespace other than the current one, held by an fd.
class OtherNetns {
 public:
  OtherNetns();  // a new, empty namespace
  // "/proc/<pid>/fd/<n>": usable by `ip ... netns` and `nsenter --net=`.
  std::string path() const;
  // Runs a shell command inside the namespace.
  std::string run_inside(const std::string& command) const;
  // Creates a socket inside the namespace (the socket stays there).
  UniqueFd socket(int domain, int type) const;

 private:
  UniqueFd fd_;
};

// Base fixture: skips unless root, then a private network namespace.
class NetnsTest : public testing::Test {
 protected:
  void SetUp() override;
};

}  // namespace tlsgate::test
