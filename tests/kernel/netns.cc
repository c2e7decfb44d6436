#include "netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <thread>

namespace tlsgate::test {

namespace {

bool g_root = false;

UniqueFd current_netns() {
  return UniqueFd(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
}

}  // namespace

void set_running_as_root(bool root) {
  g_root = root;
}
bool running_as_root() {
  return g_root;
}

std::string run(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen " << command;
    return output;
  }
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) output.append(buf.data(), n);
  int status = pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ADD_FAILURE() << "command failed: " << command << "\n" << output;
  }
  return output;
}

void enter_private_netns() {
  if (unshare(CLONE_NEWNET) != 0) throw std::runtime_error("unshare(CLONE_NEWNET) failed");
  run("ip link set lo up");
}

OtherNetns::OtherNetns() {
  // A helper thread unshares, so the calling thread keeps its namespace.
  std::thread([this] {
    if (unshare(CLONE_NEWNET) == 0) fd_ = current_netns();
  }).join();
  if (!fd_) throw std::runtime_error("cannot create a network namespace");
  run_inside("ip link set lo up");
}

std::string OtherNetns::path() const {
  return "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(fd_.get());
}

std::string OtherNetns::run_inside(const std::string& command) const {
  return run("nsenter --net=" + path() + " " + command);
}

UniqueFd OtherNetns::socket(int domain, int type) const {
  UniqueFd home = current_netns();
  if (setns(fd_.get(), CLONE_NEWNET) != 0) throw std::runtime_error("setns into other netns");
  UniqueFd s(::socket(domain, type | SOCK_CLOEXEC, 0));
  if (setns(home.get(), CLONE_NEWNET) != 0) throw std::runtime_error("setns back");
  return s;
}

void NetnsTest::SetUp() {
  if (!running_as_root()) GTEST_SKIP() << "kernel tests need root";
  enter_private_netns();
}

}  // namespace tlsgate::test
