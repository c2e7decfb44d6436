// The hand-over of a hitless restart between two daemons, in one process:
// the listening sockets really cross (a byte written into the predecessor's
// socket is read from the successor's copy), the predecessor releases only
// on take_over, and learns whether the successor went on to serve.
#include "daemon/handover.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "../support/temp_dir.h"

namespace tlsgate::daemon {
namespace {

using namespace std::chrono_literals;
using Successor = HandoverListener::Successor;

// A socket pair standing in for a listener: the successor gets a copy of
// `ours`; a byte sent from `peer` shows that the copy is the same socket.
struct FakeListener {
  FakeListener() {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
      throw std::runtime_error("socketpair");
    ours = UniqueFd(fds[0]);
    peer = UniqueFd(fds[1]);
  }
  UniqueFd ours;
  UniqueFd peer;
};

struct Running {
  explicit Running(const std::filesystem::path& path) {
    HandoverListener::Callbacks callbacks;
    callbacks.listeners = [this] {
      std::vector<UniqueFd> copies;
      copies.emplace_back(::dup(fake.ours.get()));
      return copies;
    };
    callbacks.release = [this](pid_t successor, std::chrono::milliseconds drain) {
      released_to = successor;
      drain_ms = drain.count();
      released = true;
    };
    listener = std::make_unique<HandoverListener>(path, std::move(callbacks));
  }
  FakeListener fake;
  std::atomic<bool> released{false};
  std::atomic<pid_t> released_to{0};
  std::atomic<long long> drain_ms{0};
  std::unique_ptr<HandoverListener> listener;
};

template <typename F>
bool eventually(F done) {
  for (int i = 0; i < 200 && !done(); ++i) std::this_thread::sleep_for(10ms);
  return done();
}

TEST(Handover, NoRunningDaemonMeansAPlainStart) {
  test_support::TempDir dir;
  EXPECT_EQ(Predecessor::find(dir.path() / "handover.sock", 5min), nullptr);
}

TEST(Handover, ListenersCrossThenTheRunningDaemonReleasesAndLearnsTheSuccessorServes) {
  test_support::TempDir dir;
  const auto path = handover_socket_path(dir.path() / "control.sock");
  EXPECT_EQ(path, dir.path() / "handover.sock");
  Running running(path);

  auto predecessor = Predecessor::find(path, 90s);
  ASSERT_NE(predecessor, nullptr);
  EXPECT_EQ(predecessor->pid(), ::getpid());
  auto listeners = predecessor->take_listeners();
  ASSERT_EQ(listeners.size(), 1u);
  ASSERT_EQ(::write(running.fake.peer.get(), "x", 1), 1);
  char byte = 0;
  ASSERT_EQ(::read(listeners[0].get(), &byte, 1), 1);
  EXPECT_EQ(byte, 'x');
  EXPECT_FALSE(running.released) << "released before take_over";

  predecessor->take_over();
  EXPECT_TRUE(running.released);
  EXPECT_EQ(running.released_to, ::getpid());
  EXPECT_EQ(running.drain_ms, 90000);
  EXPECT_EQ(running.listener->successor(), Successor::pending);
  predecessor->confirm_serving();
  EXPECT_TRUE(eventually([&] { return running.listener->successor() == Successor::serving; }));
}

TEST(Handover, ASuccessorThatGivesUpBeforeTakingOverChangesNothing) {
  test_support::TempDir dir;
  const auto path = dir.path() / "handover.sock";
  Running running(path);
  {
    auto predecessor = Predecessor::find(path, 5min);
    ASSERT_NE(predecessor, nullptr);
  }  // gone before take_over (its gateway failed to start)
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(running.released);
  // The running daemon still answers the next successor.
  auto next = Predecessor::find(path, 5min);
  ASSERT_NE(next, nullptr);
  next->take_over();
  EXPECT_TRUE(running.released);
}

TEST(Handover, ASuccessorThatFailsAfterTakingOverIsReported) {
  test_support::TempDir dir;
  const auto path = dir.path() / "handover.sock";
  Running running(path);
  {
    auto predecessor = Predecessor::find(path, 5min);
    ASSERT_NE(predecessor, nullptr);
    predecessor->take_over();
  }  // died before confirm_serving
  EXPECT_TRUE(eventually([&] { return running.listener->successor() == Successor::failed; }));
}

TEST(Handover, OnlyTheDaemonsOwnUserIsAnswered) {
  test_support::TempDir dir;
  const auto path = dir.path() / "handover.sock";
  Running running(path);
  std::atomic<bool> other_user_answered{false};
  std::thread other([&] {
    // A child with another uid (root only: setuid); without root, skipped.
    if (::geteuid() != 0) return;
    pid_t pid = ::fork();
    if (pid == 0) {
      if (::setuid(65534) != 0) ::_exit(2);
      try {
        auto p = Predecessor::find(path, 5min);
        ::_exit(p ? 1 : 0);
      } catch (const std::exception&) {
        ::_exit(0);  // refused: the connection was closed unanswered
      }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    other_user_answered = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  });
  other.join();
  EXPECT_FALSE(other_user_answered);
  EXPECT_FALSE(running.released);
}

}  // namespace
}  // namespace tlsgate::daemon
