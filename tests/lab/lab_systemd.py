"""A real systemd for the lab: systemd (the machine's /lib/systemd/systemd)
booted as PID 1 of its own PID and mount namespace, inside the router's
network namespace, with only the units the test gives it (a target without
dependencies is the one started). It runs tlsgated from the shipped unit
file, so that `systemctl restart/reload/stop/kill` and the notify protocol
(NotifyAccess=, MAINPID=, the file-descriptor store, a restart job seen on
the system bus) are systemd's own, not a stand-in. Needs no systemd on the host: this machine's PID 1 is not systemd.

Leaves nothing behind: /run inside is a tmpfs of its own, and stopping it
(SIGKILL to its PID 1) ends every process in its PID namespace."""

from __future__ import annotations

import os
import pathlib
import shlex
import signal
import subprocess
import time

SYSTEMD = pathlib.Path("/lib/systemd/systemd")
# The host's cgroup2 tree (hybrid layout; a unified host has it at /sys/fs/cgroup).
CGROUP2 = next((p for p in (pathlib.Path("/sys/fs/cgroup/unified"), pathlib.Path("/sys/fs/cgroup"))
                if (p / "cgroup.procs").exists()), pathlib.Path("/sys/fs/cgroup"))
SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
UNIT_FILE = SOURCE_DIR / "systemd" / "tlsgate.service"
TARGET = "tlslab.target"
# The unit's service-management settings, taken verbatim from the shipped
# file. Its user, directories and sandboxing are left out: the lab runs the
# build's ASan binary against files in the lab directory (tests/lab/
# test_service.py checks the unit's user and capabilities on their own).
KEPT_SETTINGS = ("Type", "NotifyAccess", "ExecReload", "Restart", "RestartSec",
                 "TimeoutStartSec", "TimeoutStopSec", "WatchdogSec", "LimitNOFILE", "KillMode",
                 "FileDescriptorStoreMax")
# Passed on to tlsgated (the sanitizers' settings of the test build).
PASSED_ENV = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")

# Run by sh inside the new namespaces: $0 units, $1 systemd, $2 its console.
# cgroup2 at /sys/fs/cgroup (the root of the cgroup namespace: a group of
# the host's cgroup2 tree made for this systemd), so that systemd runs on the
# unified hierarchy and waits for a unit's processes to exit on stop (on the
# legacy one, in a container, it sends SIGKILL at once instead).
BOOT = """set -e
mount -t proc proc /proc
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mkdir -p /run/systemd/system
cp "$0"/* /run/systemd/system/
mount --bind "$2" /dev/console
exec env container=tlsgate-lab \\
  "$1" --system --log-target=console --log-level=info --unit=""" + TARGET + "\n"
# Run by sh on the host: moves itself into the group made for this systemd,
# then enters the new namespaces (a cgroup namespace rooted there among them).
ENTER = """echo $$ > "$0/cgroup.procs"
exec "$@"
"""


def unit_settings(text: str, keys) -> list[tuple[str, str]]:
    kept = []
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() in keys:
            kept.append((key.strip(), value.strip()))
    return kept


def tlsgate_unit(tlsgated: str, config: pathlib.Path, log: pathlib.Path,
                 overrides: dict[str, str] | None = None) -> str:
    """tlsgate.service for the lab: the shipped unit's service settings (each
    of `overrides` replacing the unit's value), the build's binary and the
    lab's config; stdout and stderr appended to `log` (the lab gateway's
    stderr file)."""
    overrides = overrides or {}
    settings = [(k, overrides.get(k, v)) for k, v in
                unit_settings(UNIT_FILE.read_text(), KEPT_SETTINGS)]
    lines = ["[Unit]", "Description=tlsgate (lab)", "DefaultDependencies=no", "", "[Service]"]
    lines += [f"{k}={v}" for k, v in settings]
    argv = f"{shlex.quote(tlsgated)} --config {shlex.quote(str(config))}"
    lines += [f"ExecStartPre={shlex.quote(tlsgated)} --check-config --config "
              f"{shlex.quote(str(config))}",
              f"ExecStart={argv}",
              f"StandardOutput=append:{log}", f"StandardError=append:{log}"]
    for name in PASSED_ENV:
        if name in os.environ:
            lines.append(f"Environment={name}={shlex.quote(os.environ[name])}")
    return "\n".join(lines) + "\n"


# The system bus, as Debian's dbus.socket/dbus.service start it, without
# their default dependencies (which would pull in the host's sysinit units):
# tlsgated asks systemd over it whether a stop is part of a restart.
DBUS_DAEMON = pathlib.Path("/usr/bin/dbus-daemon")
DBUS_UNITS = {
    "dbus.socket": "[Unit]\nDefaultDependencies=no\n[Socket]\n"
                   "ListenStream=/run/dbus/system_bus_socket\n",
    "dbus.service": "[Unit]\nDefaultDependencies=no\nRequires=dbus.socket\n[Service]\n"
                    "Type=notify\nNotifyAccess=main\nExecStart=" + str(DBUS_DAEMON) +
                    " --system --address=systemd: --nofork --nopidfile --systemd-activation"
                    " --syslog-only\n",
}


class ContainedSystemd:
    def __init__(self, directory: pathlib.Path, netns: str, units: dict[str, str]):
        self.dir = directory
        self.netns = netns
        self.units_dir = directory / "units"
        self.units_dir.mkdir(parents=True, exist_ok=True)
        (self.units_dir / TARGET).write_text(
            "[Unit]\nDescription=tlsgate lab\nDefaultDependencies=no\n"
            "Wants=dbus.socket dbus.service\nAfter=dbus.service\n")
        for name, text in {**DBUS_UNITS, **units}.items():
            (self.units_dir / name).write_text(text)
        self.log = directory / "systemd.log"  # its console, and unshare's errors
        self.log.touch()
        self.cgroup = CGROUP2 / f"tlsgate-lab-{netns}"
        self.unshare: subprocess.Popen | None = None
        self.pid: int | None = None  # systemd's, as the host sees it

    def start(self, timeout_s: float = 20.0) -> None:
        self.cgroup.mkdir()
        argv = ["nsenter", f"--net=/run/netns/{self.netns}", "--", "sh", "-c", ENTER,
                str(self.cgroup), "unshare", "--cgroup", "--pid", "--fork", "--mount", "--uts",
                "--ipc", "--propagation", "private", "--",
                "sh", "-c", BOOT, str(self.units_dir), str(SYSTEMD), str(self.log)]
        with open(self.log, "ab") as log:
            self.unshare = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while True:
            children = self._children(self.unshare.pid)
            if children:
                self.pid = children[0]
                state = self.systemctl("is-system-running", check=False).stdout.strip()
                if state in ("running", "degraded"):
                    return
            if self.unshare.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"systemd did not come up ({self.log}):\n"
                                     + self.log.read_text(errors="replace")[-3000:])
            time.sleep(0.1)

    @staticmethod
    def _children(pid: int) -> list[int]:
        path = pathlib.Path(f"/proc/{pid}/task/{pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def systemctl(self, *args, check: bool = True, timeout: int = 60) -> subprocess.CompletedProcess:
        if self.pid is None:
            raise AssertionError("systemd is not running")
        argv = ["nsenter", "-t", str(self.pid), "-m", "-p", "--", "systemctl", "--no-pager", *args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"systemctl {' '.join(args)} -> {proc.returncode}\n"
                                 f"{proc.stdout}{proc.stderr}")
        return proc

    def show(self, unit: str, prop: str) -> str:
        return self.systemctl("show", "-p", prop, "--value", unit).stdout.strip()

    def host_pid(self, unit: str) -> int:
        """The unit's MainPID as the host sees it (0: none)."""
        inner = int(self.show(unit, "MainPID") or 0)
        if inner == 0:
            return 0
        for status in pathlib.Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            for line in text.splitlines():
                if line.startswith("NSpid:"):
                    pids = [int(p) for p in line.split()[1:]]
                    if len(pids) >= 2 and pids[-1] == inner and self._in_our_namespace(pids[0]):
                        return pids[0]
        return 0

    def _in_our_namespace(self, pid: int) -> bool:
        try:
            return os.readlink(f"/proc/{pid}/ns/pid") == os.readlink(f"/proc/{self.pid}/ns/pid")
        except OSError:
            return False

    def stop(self) -> None:
        """SIGKILL to systemd, PID 1 inside: the kernel ends every process in
        its namespace. Idempotent."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.unshare is not None:
            try:
                self.unshare.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.unshare.pid, signal.SIGKILL)
                self.unshare.wait(timeout=5)
        self.pid = None
        remove_cgroup(self.cgroup)


def remove_cgroup(group: pathlib.Path) -> None:
    """The group and the ones systemd made below it, deepest first (each is
    empty once its processes are gone; those leave asynchronously)."""
    if not group.exists():
        return
    for sub in sorted((p for p in group.rglob("*") if p.is_dir()),
                      key=lambda p: len(p.parts), reverse=True):
        _rmdir(sub)
    _rmdir(group)


def _rmdir(path: pathlib.Path) -> None:
    for _ in range(50):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"cgroup {path} still busy")
