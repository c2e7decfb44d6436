#include "av_service.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace tlsgate::test_support {

namespace {

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  if (!f) throw std::runtime_error("cannot write " + p.string());
}

pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& out) {
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid > 0) ::setpgid(pid, pid);
  if (pid == 0) {
    ::setpgid(0, 0);  // c-icap forks its servers: signals go to the group
    std::FILE* f = std::freopen(out.c_str(), "w", stdout);
    if (f != nullptr) ::dup2(::fileno(stdout), 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

void stop(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(-pid, SIGCONT);
  ::kill(-pid, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) {
      pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(-pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  pid = -1;
}

bool exited(pid_t pid) {
  return ::waitpid(pid, nullptr, WNOHANG) == pid;
}

bool port_answers(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

uint16_t free_port() {
  std::random_device rd;
  for (int i = 0; i < 50; ++i) {
    auto port = static_cast<uint16_t>(20000 + rd() % 20000);
    if (!port_answers(port)) return port;
  }
  throw std::runtime_error("no free port for c-icap");
}

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

}  // namespace

std::string eicar() {
  return "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
}

AvService::AvService() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "tlsgate-av-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  std::filesystem::create_directory(dir_ / "db");
  // The EICAR file by MD5 and size, and the EICAR string anywhere in a file.
  write_file(dir_ / "db" / "lab.hdb", "44d88612fea8a8f36de82e1278abb02f:68:Lab.Eicar.Test\n");
  write_file(dir_ / "db" / "lab.ndb", "Lab.Eicar.Body:0:*:" + hex(eicar()) + "\n");
  std::string d = dir_.string();
  write_file(dir_ / "clamd.conf", "DatabaseDirectory " + d + "/db\nLocalSocket " + d +
                                      "/clamd.sock\nForeground yes\nLogFile " + d +
                                      "/clamd.log\nPidFile " + d +
                                      "/clamd.pid\nTemporaryDirectory /tmp\nUser root\n");
  port_ = free_port();
  write_file(dir_ / "c-icap.conf",
             "PidFile " + d + "/c-icap.pid\nCommandsSocket " + d + "/c-icap.ctl\nPort 127.0.0.1:" +
                 std::to_string(port_) + "\nServerLog " + d + "/server.log\nAccessLog " + d +
                 "/access.log\nTmpDir /tmp\nStartServers 1\nMaxServers 4\nThreadsPerChild 16\n"
                 "MaxRequestsPerChild 0\n"
                 "ModulesDir /usr/lib/x86_64-linux-gnu/c_icap\n"
                 "ServicesDir /usr/lib/x86_64-linux-gnu/c_icap\n"
                 "TemplateDir /usr/share/c_icap/templates/\nTemplateDefaultLanguage en\n"
                 "LoadMagicFile /etc/c-icap/c-icap.magic\nModule common clamd_mod.so\n"
                 "clamd_mod.ClamdSocket " +
                 d +
                 "/clamd.sock\nService antivirus_module virus_scan.so\n"
                 "ServiceAlias avscan virus_scan?allow204=on&sizelimit=off&mode=simple\n"
                 "virus_scan.ScanFileTypes TEXT DATA EXECUTABLE ARCHIVE GIF JPEG MSOFFICE\n"
                 "virus_scan.MaxObjectSize 200M\n");
  clamd_ = spawn({"clamd", "-c", d + "/clamd.conf"}, dir_ / "clamd.out");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!std::filesystem::exists(dir_ / "clamd.sock")) {
    if (exited(clamd_) || std::chrono::steady_clock::now() > deadline) {
      clamd_ = -1;
      throw std::runtime_error("clamd did not start (see " + d + "/clamd.out)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  start_icap();
}

void AvService::start_icap() {
  std::string d = dir_.string();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  icap_ = spawn({"c-icap", "-N", "-f", d + "/c-icap.conf", "-D"}, dir_ / "c-icap.out");
  while (!port_answers(port_)) {
    if (exited(icap_) || std::chrono::steady_clock::now() > deadline) {
      icap_ = -1;
      stop(clamd_);
      throw std::runtime_error("c-icap did not start (see " + d + "/c-icap.out)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

AvService::~AvService() {
  stop(icap_);
  stop(clamd_);
  if (std::getenv("TLSGATE_KEEP_AV_DIR") == nullptr) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string AvService::url() const {
  return "icap://127.0.0.1:" + std::to_string(port_) + "/avscan";
}

void AvService::stop_icap() {
  stop(icap_);
}

void AvService::pause_icap() {
  if (icap_ > 0) ::kill(-icap_, SIGSTOP);
}

void AvService::resume_icap() {
  if (icap_ > 0) ::kill(-icap_, SIGCONT);
}

}  // namespace tlsgate::test_support
