// The control socket end to end: a ControlServer with a recording handler
// and ControlClient (and raw clients) in the same process.
#include "control/control_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grp.h>

#include <filesystem>
#include <fstream>

#include "control/control_client.h"
#include "control/control_protocol.h"

namespace tlsgate::control {
namespace {

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tlsgate-ctl-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::filesystem::permissions(dir_, std::filesystem::perms(0755));
    socket_ = dir_ / "control.sock";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<ControlServer> make_server(AccessPolicy policy = {::geteuid(), std::nullopt}) {
    auto server = std::make_unique<ControlServer>(
        socket_, policy, [this](const nlohmann::json& request, const PeerCredentials& peer) {
          seen_.push_back(request["command"].get<std::string>());
          if (request["command"] == "fail") throw std::runtime_error("handler failed");
          return ok_response({{"echo", request}, {"uid", peer.uid}});
        });
    server->start();
    return server;
  }

  std::filesystem::path dir_;
  std::filesystem::path socket_;
  std::vector<std::string> seen_;
};

TEST_F(ControlServerTest, AnswersRequestsInTurnOnOneConnection) {
  auto server = make_server();
  ControlClient client(socket_);
  auto first = client.call({{"command", "status"}});
  EXPECT_EQ(first["echo"]["command"], "status");
  EXPECT_EQ(first["uid"], ::geteuid());
  auto second = client.call({{"command", "flows"}, {"x", 1}});
  EXPECT_EQ(second["echo"]["x"], 1);
  EXPECT_EQ(seen_, (std::vector<std::string>{"status", "flows"}));
}

TEST_F(ControlServerTest, HandlerErrorsAndBadRequestsBecomeErrorAnswers) {
  auto server = make_server();
  ControlClient client(socket_);
  try {
    client.call({{"command", "fail"}});
    ADD_FAILURE() << "no error";
  } catch (const ControlError& e) {
    EXPECT_STREQ(e.what(), "handler failed");
  }
  EXPECT_THROW(client.call({{"no_command", 1}}), ControlError);
  EXPECT_THROW(client.call(nlohmann::json::array()), ControlError);
  // Still serving after all that, on the same connection.
  EXPECT_EQ(client.call({{"command", "status"}})["echo"]["command"], "status");
}

TEST_F(ControlServerTest, GarbageGetsAnErrorLine) {
  auto server = make_server();
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, socket_.c_str());
  ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  write_all(fd.get(), "not json\n");
  LineReader reader(fd.get(), 1 << 16);
  auto line = reader.next();
  ASSERT_TRUE(line);
  auto answer = nlohmann::json::parse(*line);
  EXPECT_EQ(answer["ok"], false);
  EXPECT_NE(answer["error"].get<std::string>().find("bad request"), std::string::npos);
}

TEST_F(ControlServerTest, SocketIsGroupOnlyAndRemovedOnStop) {
  auto server = make_server();
  struct stat st {};
  ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  server->stop();
  EXPECT_FALSE(std::filesystem::exists(socket_));
  EXPECT_THROW(ControlClient{socket_}, ControlError);
}

TEST_F(ControlServerTest, CreatesAMissingDirectoryWithMode0750) {
  socket_ = dir_ / "run" / "control.sock";
  auto server = make_server();
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
}

TEST_F(ControlServerTest, ReplacesAStaleSocketButNotALiveOne) {
  {
    // A socket file nobody listens on, as a crashed daemon leaves it.
    UniqueFd stale(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, socket_.c_str());
    ASSERT_EQ(::bind(stale.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  auto server = make_server();
  EXPECT_EQ(ControlClient(socket_).call({{"command", "status"}})["echo"]["command"], "status");
  try {
    ControlServer second(socket_, {}, [](const nlohmann::json&, const PeerCredentials&) {
      return ok_response(nullptr);
    });
    ADD_FAILURE() << "took over a live socket";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("another tlsgated"), std::string::npos) << e.what();
  }
  EXPECT_EQ(ControlClient(socket_).call({{"command", "status"}})["echo"]["command"], "status");
}

TEST_F(ControlServerTest, RefusesToReplaceARegularFile) {
  std::ofstream(socket_) << "x";
  EXPECT_THROW(make_server(), std::runtime_error);
}

// Exit status of a child that switches to `uid`/`gid` (+ `groups`) and asks
// for status: 0 answered, 1 refused with "permission denied", 2 other.
int call_as(const std::filesystem::path& socket, uid_t uid, gid_t gid, std::vector<gid_t> groups) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(groups.size(), groups.data()) != 0 || ::setresgid(gid, gid, gid) != 0 ||
        ::setresuid(uid, uid, uid) != 0) {
      ::_exit(3);
    }
    try {
      ControlClient(socket).call({{"command", "status"}});
      ::_exit(0);
    } catch (const ControlError& e) {
      ::_exit(std::string(e.what()).starts_with("permission denied") ? 1 : 2);
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(ControlServerTest, PeerCredentialsDecideNotJustTheFileMode) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as other users";
  const gid_t admins = 64123;
  auto server = make_server({0, admins});
  // Open the file to everyone: the check that remains is SO_PEERCRED's.
  ASSERT_EQ(::chmod(socket_.c_str(), 0666), 0);
  EXPECT_EQ(call_as(socket_, 65534, 65534, {}), 1);
  EXPECT_EQ(call_as(socket_, 65534, 65534, {admins}), 0);
  EXPECT_EQ(call_as(socket_, 65534, admins, {}), 0);
  EXPECT_EQ(call_as(socket_, 0, 0, {}), 0);
}

}  // namespace
}  // namespace tlsgate::control
