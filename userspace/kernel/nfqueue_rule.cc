#include "kernel/nfqueue_rule.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/unique_fd.h"

extern char** environ;

namespace tlsgate::kernel {

namespace {

struct CommandResult {
  int status = -1;  // exit status; -1: could not run
  std::string output;
};

// Runs argv[0] (looked up in PATH, then /usr/sbin and /sbin), capturing
// stdout and stderr together. No shell.
CommandResult run_command(const std::vector<std::string>& argv) {
  CommandResult result;
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return result;
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = -1;
  int err = ENOENT;
  for (std::string prefix : {"", "/usr/sbin/", "/sbin/"}) {
    std::string path = prefix + argv[0];
    err = prefix.empty() ? posix_spawnp(&pid, path.c_str(), &actions, nullptr, args.data(), environ)
                         : posix_spawn(&pid, path.c_str(), &actions, nullptr, args.data(), environ);
    if (err != ENOENT) break;
  }
  posix_spawn_file_actions_destroy(&actions);
  write_end.reset();
  if (err != 0) {
    result.output = argv[0] + ": " + std::strerror(err);
    return result;
  }
  std::array<char, 1024> buf;
  ssize_t n;
  while ((n = read(read_end.get(), buf.data(), buf.size())) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) result.output.append(buf.data(), static_cast<size_t>(n));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

const char* binary(int family) {
  return family == AF_INET ? "iptables-nft" : "ip6tables-nft";
}

std::vector<std::string> rule_command(int family, const char* op, const NfqueueRuleSpec& spec,
                                      bool bypass) {
  char mark[16];
  std::snprintf(mark, sizeof mark, "0x%x", spec.mark);
  std::vector<std::string> argv{binary(family), "-w", "-t", "filter", op, "FORWARD"};
  if (std::strcmp(op, "-I") == 0) argv.push_back("1");
  argv.insert(argv.end(), {"-m", "mark", "--mark", mark, "-j", "NFQUEUE", "--queue-num",
                           std::to_string(spec.queue)});
  if (bypass) argv.push_back("--queue-bypass");
  return argv;
}

bool ipv6_available() {
  UniqueFd s(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  return static_cast<bool>(s);
}

std::string joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

}  // namespace

bool nfqueue_rule_present(const NfqueueRuleSpec& spec, int family) {
  return run_command(rule_command(family, "-C", spec, spec.bypass_without_reader)).status == 0;
}

void add_nfqueue_rules(const NfqueueRuleSpec& spec) {
  for (int family : {AF_INET, AF_INET6}) {
    if (family == AF_INET6 && !ipv6_available()) continue;
    if (nfqueue_rule_present(spec, family)) continue;
    auto argv = rule_command(family, "-I", spec, spec.bypass_without_reader);
    CommandResult r = run_command(argv);
    if (r.status != 0) {
      delete_nfqueue_rules(spec);
      throw std::runtime_error("add NFQUEUE rule (" + joined(argv) + "): " + r.output);
    }
  }
}

void delete_nfqueue_rules(const NfqueueRuleSpec& spec) {
  for (int family : {AF_INET, AF_INET6}) {
    for (bool bypass : {true, false}) {
      // Bounded: each round deletes one copy or fails.
      for (int copies = 0; copies < 16; ++copies) {
        if (run_command(rule_command(family, "-D", spec, bypass)).status != 0) break;
      }
    }
  }
}

}  // namespace tlsgate::kernel
