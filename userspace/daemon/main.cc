// tlsgated: the tlsgate daemon. Loads the config, assembles the gateway,
// opens the control socket and the metrics endpoint, speaks systemd's
// notify protocol (READY, STATUS, RELOADING, WATCHDOG, STOPPING, and MAINPID
// naming the successor of a hitless restart),
// reloads on SIGHUP, stops on SIGTERM/SIGINT. SIGUSR2 starts a successor from
// the executable's path (a hitless restart, handover.h): it takes over and
// this process drains its flows, then exits leaving the kernel side to it.
#include <fcntl.h>
#include <grp.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "control/control_server.h"
#include "daemon/gateway.h"
#include "daemon/gateway_control.h"
#include "daemon/gateway_metrics.h"
#include "daemon/handover.h"
#include "daemon/systemd_restart.h"
#include "events/journal_fields.h"
#include "metrics/metrics_server.h"

namespace {

using namespace tlsgate;
using Clock = std::chrono::steady_clock;

// The group whose members may use tlsgatectl (DESIGN.md §8).
constexpr const char* kAdminGroup = "tlsgate";

uint64_t monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

void notify_status(const std::string& status) {
  sd_notifyf(0, "STATUS=%s", status.c_str());
}

// Feeds systemd's watchdog at half its interval, and only while every
// worker answers its pings: a stuck worker gets the daemon restarted.
class Watchdog {
 public:
  Watchdog() {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
      interval_ = std::chrono::microseconds(usec / 2);
      next_ = Clock::now();
    }
  }
  bool enabled() const { return interval_.has_value(); }
  // How long sigtimedwait may sleep before the next tick.
  timespec until_next() const {
    const auto left = std::max(Clock::duration::zero(), next_ - Clock::now());
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    return {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  }
  void tick_if_due(terminator::Terminator& terminator) {
    if (!interval_ || Clock::now() < next_) return;
    next_ = Clock::now() + *interval_;
    if (terminator.workers_answered_then_ping()) {
      sd_notify(0, "WATCHDOG=1");
      if (stalled_) std::fprintf(stderr, "tlsgated: every worker answers again\n");
      stalled_ = false;
    } else if (!stalled_) {
      stalled_ = true;
      std::fprintf(stderr,
                   "tlsgated: a worker did not answer its ping; withholding the "
                   "watchdog keep-alive\n");
      notify_status("a terminator worker is not answering");
    }
  }

 private:
  std::optional<Clock::duration> interval_;
  Clock::time_point next_{};
  bool stalled_ = false;
};

// The path this process was started from, even after a package upgrade
// replaced the file (/proc/self/exe then ends in " (deleted)").
std::string executable_path() {
  std::error_code ec;
  std::string path = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  const std::string deleted = " (deleted)";
  if (path.size() > deleted.size() && path.ends_with(deleted))
    path.resize(path.size() - deleted.size());
  return path;
}

// Starts the new tlsgated of a hitless restart with this process's arguments;
// it finds this one on the hand-over socket. Signals unblocked, environment
// (NOTIFY_SOCKET) kept, only stdin/out/err open (an inherited socket, the
// NFQUEUE one, would keep what this process gives up bound).
//
// Through an intermediate child that exits at once, so that the successor is
// the service manager's child (systemd is the subreaper of last resort) when
// this process names it with MAINPID=: systemd supervises a main process that
// is not its own child only loosely ("alien": on stop it sends SIGTERM, does
// not wait, and kills it at once with SIGKILL, leaving the kernel side).
void spawn_successor(const std::vector<std::string>& args) {
  const std::string exe = executable_path();
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int pid_pipe[2];
  if (pipe2(pid_pipe, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "tlsgated: restart: pipe: %s\n", std::strerror(errno));
    return;
  }
  UniqueFd pid_in(pid_pipe[0]), pid_out(pid_pipe[1]);
  // Between fork and exec only async-signal-safe calls: everything above is
  // prepared in advance.
  const pid_t middle = fork();
  if (middle < 0) {
    std::fprintf(stderr, "tlsgated: restart: fork: %s\n", std::strerror(errno));
    return;
  }
  if (middle == 0) {
    const pid_t successor = fork();
    if (successor == 0) {
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      close_range(3, ~0U, 0);
      execv(exe.c_str(), argv.data());
      _exit(127);
    }
    const ssize_t n = write(pid_out.get(), &successor, sizeof successor);
    _exit(successor > 0 && n == static_cast<ssize_t>(sizeof successor) ? 0 : 1);
  }
  pid_out.reset();
  pid_t successor = -1;
  const ssize_t got = read(pid_in.get(), &successor, sizeof successor);
  int status = 0;
  while (waitpid(middle, &status, 0) < 0 && errno == EINTR) {
  }
  if (got != static_cast<ssize_t>(sizeof successor) || successor <= 0) {
    std::fprintf(stderr, "tlsgated: restart: cannot start %s\n", exe.c_str());
    return;
  }
  std::fprintf(stderr, "tlsgated: restart: started pid %d from %s\n", static_cast<int>(successor),
               exe.c_str());
}

// Reaps any child that ended (the successor is not one: it was started
// through an intermediate child reaped at once).
void reap_children() {
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    std::fprintf(stderr, "tlsgated: child pid %d exited (status %d)\n", static_cast<int>(pid),
                 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
}

// After a hand-over: the flows this process still carries run until they
// end, the drain timeout passes or SIGTERM/SIGINT arrives. False when the
// successor failed after taking over (this process then exits at once with
// a failure: systemd restarts the unit).
bool drain(daemon::Gateway& gateway, const daemon::HandoverListener& handover, sigset_t signals,
           std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::fprintf(stderr, "tlsgated: handed over; draining %llu flows (up to %llds)\n",
               static_cast<unsigned long long>(gateway.active_flows()),
               static_cast<long long>(timeout.count() / 1000));
  while (true) {
    if (handover.successor() == daemon::HandoverListener::Successor::failed) return false;
    if (gateway.active_flows() == 0 &&
        handover.successor() == daemon::HandoverListener::Successor::serving) {
      break;
    }
    if (Clock::now() >= deadline) {
      std::fprintf(stderr, "tlsgated: drain timeout: ending %llu flows\n",
                   static_cast<unsigned long long>(gateway.active_flows()));
      return true;
    }
    const timespec tick{0, 100'000'000};
    const int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGTERM || sig == SIGINT) return true;
    if (sig == SIGCHLD) reap_children();
  }
  std::fprintf(stderr, "tlsgated: every flow ended\n");
  return true;
}

int run(config::GatewayConfig config, const std::string& config_path,
        const std::vector<std::string>& args) {
  // Signals are taken synchronously by this thread; no other thread sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGUSR1);  // the hand-over thread: a successor took over
  sigaddset(&signals, SIGUSR2);  // hitless restart
  sigaddset(&signals, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  OPENSSL_init_ssl(0, nullptr);

  const auto control_socket = config.control_socket;
  const auto metrics_listen = config.metrics_listen;
  const auto handover_path = daemon::handover_socket_path(control_socket);
  std::unique_ptr<daemon::Gateway> gateway;
  std::unique_ptr<daemon::GatewayControl> control;
  std::unique_ptr<control::ControlServer> control_server;
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  std::unique_ptr<daemon::HandoverListener> handover;
  std::unique_ptr<daemon::Predecessor> predecessor;
  try {
    predecessor = daemon::Predecessor::find(handover_path, config.drain_timeout);
    // After `systemctl restart`: the listeners the stopped process left in
    // systemd's fd store (unused when a running predecessor hands over its own).
    std::vector<UniqueFd> inherited = daemon::take_stored_listeners();
    if (!inherited.empty() && !predecessor) {
      std::fprintf(stderr, "tlsgated: restart: took %zu listening sockets back from systemd\n",
                   inherited.size());
    }
    if (predecessor) inherited.clear();
    std::function<void()> take_over;
    if (predecessor) {
      inherited = predecessor->take_listeners();
      take_over = [&predecessor] { predecessor->take_over(); };
      std::fprintf(stderr, "tlsgated: taking over from pid %d (%zu listeners)\n",
                   static_cast<int>(predecessor->pid()), inherited.size());
    }
    gateway = std::make_unique<daemon::Gateway>(std::move(config), config_path,
                                                std::move(inherited), take_over);
    control = std::make_unique<daemon::GatewayControl>(*gateway, notify_status);
    control::AccessPolicy access{::geteuid(), control::group_id(kAdminGroup)};
    control_server = std::make_unique<control::ControlServer>(
        control_socket, access,
        [&control](const nlohmann::json& request, const control::PeerCredentials& peer) {
          return control->handle(request, peer);
        });
    if (metrics_listen) {
      metrics_server = std::make_unique<metrics::MetricsServer>(
          *metrics_listen,
          [&gateway, &control] { return daemon::render_metrics(*gateway, control->counters()); });
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlsgated: cannot start: %s\n", e.what());
    sd_notifyf(0, "STATUS=cannot start: %s", e.what());
    return 1;  // the destructors remove whatever was installed
  }
  control_server->start();
  if (metrics_server) metrics_server->start();

  // A later successor finds this process here.
  std::atomic<long long> drain_ms{0};
  try {
    daemon::HandoverListener::Callbacks callbacks;
    callbacks.listeners = [&gateway] { return gateway->terminator().duplicate_listeners(); };
    callbacks.release = [&](pid_t successor, std::chrono::milliseconds drain_timeout) {
      gateway->hand_over();
      if (metrics_server) metrics_server->stop();
      control_server->stop();
      drain_ms = drain_timeout.count();
      // systemd follows the successor as the unit's main process
      // (NotifyAccess=main: only this process may say so, and it does before
      // the successor hears `released`, so before its READY=1).
      sd_notifyf(0, "MAINPID=%d\nSTATUS=handed over to pid %d; draining",
                 static_cast<int>(successor), static_cast<int>(successor));
      std::fprintf(stderr, "tlsgated: pid %d took over\n", static_cast<int>(successor));
      kill(getpid(), SIGUSR1);
    };
    handover = std::make_unique<daemon::HandoverListener>(handover_path, std::move(callbacks));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlsgated: %s (hitless restarts unavailable)\n", e.what());
  }

  const std::string status = control->status_line();
  if (predecessor) {
    std::fprintf(stderr, "tlsgated: ready (pid %d, took over from pid %d; %s)\n",
                 static_cast<int>(getpid()), static_cast<int>(predecessor->pid()), status.c_str());
    // The predecessor has made this process the unit's main one (MAINPID=);
    // from here on systemd takes its notifications, the watchdog's too
    // (sd_watchdog_enabled() only answers the pid in WATCHDOG_PID).
    sd_notifyf(0, "READY=1\nSTATUS=%s", status.c_str());
    const char* watchdog_pid = std::getenv("WATCHDOG_PID");
    if (watchdog_pid != nullptr && std::atoi(watchdog_pid) == predecessor->pid()) {
      setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
    }
    try {
      predecessor->confirm_serving();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tlsgated: %s\n", e.what());  // it went away: nothing to confirm
    }
    predecessor.reset();
  } else {
    std::fprintf(stderr, "tlsgated: ready (pid %d; %s)\n", static_cast<int>(getpid()),
                 status.c_str());
    sd_notifyf(0, "READY=1\nSTATUS=%s", status.c_str());
  }

  Watchdog watchdog;
  bool handed_over = false;
  while (true) {
    watchdog.tick_if_due(gateway->terminator());
    int sig = 0;
    if (watchdog.enabled()) {
      const timespec wait = watchdog.until_next();
      sig = sigtimedwait(&signals, nullptr, &wait);
    } else {
      sig = sigwaitinfo(&signals, nullptr);
    }
    if (sig < 0) continue;  // the watchdog's timeout, or EINTR
    if (sig == SIGCHLD) {
      reap_children();
      continue;
    }
    if (sig == SIGUSR2) {
      spawn_successor(args);
      continue;
    }
    if (sig == SIGUSR1) {
      if (!gateway->handed_over()) continue;
      handed_over = true;
      break;
    }
    if (sig == SIGHUP) {
      sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
                 static_cast<unsigned long long>(monotonic_usec()));
      control->reload();  // logs and updates STATUS either way
      sd_notify(0, "READY=1");
      continue;
    }
    break;
  }
  int exit_status = 0;
  if (handed_over) {
    if (!drain(*gateway, *handover, signals, std::chrono::milliseconds(drain_ms.load()))) {
      std::fprintf(stderr, "tlsgated: the successor failed; exiting with a failure\n");
      exit_status = 1;
    }
  } else if (daemon::systemd_restart_queued()) {
    // systemctl restart: the kernel side stays for the next start (kernel-
    // decided flows go on; new flows wait in the listeners' accept queue,
    // which systemd holds meanwhile). This process's own flows end.
    sd_notify(0, "STOPPING=1\nSTATUS=restarting: kernel side and listeners kept");
    gateway->keep_kernel_side();
    const bool stored =
        daemon::store_listeners_for_restart(gateway->terminator().duplicate_listeners());
    std::fprintf(stderr, "tlsgated: systemctl restart: keeping the kernel side%s\n",
                 stored ? " and the listening sockets (systemd's fd store)"
                        : "; listening sockets not stored (no FileDescriptorStoreMax=)");
  } else {
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
  }
  handover.reset();  // no successor from here on
  std::fprintf(stderr, "tlsgated: stopping\n");
  // No new requests while the gateway comes apart.
  if (metrics_server) metrics_server->stop();
  control_server->stop();
  gateway->stop();
  metrics_server.reset();
  control_server.reset();
  control.reset();
  gateway.reset();
  std::fprintf(stderr, "tlsgated: stopped\n");
  return exit_status;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tlsgated - transparent TLS inspection gateway"};
  std::string config_path = "/etc/tlsgate/tlsgate.toml";
  bool check_only = false;
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  app.add_flag("--check-config", check_only, "validate the configuration and exit");
  app.set_version_flag("--version", std::string("tlsgated ") + TLSGATE_VERSION);
  CLI11_PARSE(app, argc, argv);

  tlsgate::config::GatewayConfig config;
  try {
    config = tlsgate::config::load_config_file(config_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlsgated: %s\n", e.what());
    return 2;
  }
  if (check_only) {
    std::fprintf(stderr, "tlsgated: %s: configuration OK\n", config_path.c_str());
    return 0;
  }
  return run(std::move(config), config_path, std::vector<std::string>(argv, argv + argc));
}
