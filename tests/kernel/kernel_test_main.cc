// kernel_tests: root only. The process gets a private mount namespace with
// its own BPF filesystem on /sys/fs/bpf, so that pins never reach the host's;
// each test then gets a private network namespace (see netns.h).
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "netns.h"

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (geteuid() == 0) {
    // Before any thread exists: CLONE_NEWNS needs an unshared fs struct.
    if (unshare(CLONE_NEWNS) != 0 ||
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") != 0) {
      std::fprintf(stderr, "kernel_tests: private mount namespace: %s\n", std::strerror(errno));
      return 1;
    }
    tlsgate::test::set_running_as_root(true);
  }
  return RUN_ALL_TESTS();
}
