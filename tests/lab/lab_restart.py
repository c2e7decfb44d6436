"""A successor tlsgated in the lab (hitless restart, userspace/daemon/handover.h):
started beside the running one with the same config (the lab's mechanism),
or spawned by the running one on SIGUSR2 (the unit's and the package's). The
test process is a child subreaper, so a successor orphaned by its exiting
predecessor is its child and its exit status can be read."""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import time

from lab_gateway import READY_LINE, Gateway

PR_SET_CHILD_SUBREAPER = 36
TOOK_OVER = re.compile(r"tlsgated: ready \(pid (\d+), took over from pid (\d+)")


def become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def wait_for(predicate, timeout_s: float, what: str, step: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s}s: {what}")
        time.sleep(step)


class Successor:
    """The tlsgated that took over; stopped (SIGTERM) at the test's end."""

    def __init__(self, pid: int, popen: subprocess.Popen | None = None):
        self.pid = pid
        self.popen = popen
        self.status: int | None = None

    @staticmethod
    def took_over_lines(gateway: Gateway, text: str) -> list[tuple[int, int]]:
        return [(int(a), int(b)) for a, b in TOOK_OVER.findall(text)]

    @classmethod
    def start_beside(cls, gateway: Gateway, timeout_s: float = 30.0) -> "Successor":
        """A second `tlsgated --config` with the running one's config."""
        tlsgated = os.environ["TLSGATED"]
        log = gateway.dir / "successor.stderr"
        argv = gateway.topology.ns_argv("router", [tlsgated, "--config", str(gateway.config)])
        with open(gateway.stdout_path, "ab") as out, open(log, "ab") as err:
            popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                     start_new_session=True)
        wait_for(lambda: READY_LINE in log.read_text(errors="replace") or popen.poll() is not None,
                 timeout_s, "successor ready")
        if popen.poll() is not None:
            raise AssertionError(f"successor exited {popen.returncode}:\n"
                                 + log.read_text(errors="replace")[-3000:])
        return cls(popen.pid, popen)

    @classmethod
    def by_signal(cls, gateway: Gateway, timeout_s: float = 30.0) -> "Successor":
        """SIGUSR2 to the running tlsgated: it spawns its successor."""
        start = gateway.stderr_path.stat().st_size
        os.kill(gateway.pid, signal.SIGUSR2)

        def took_over():
            text = gateway.stderr_path.read_bytes()[start:].decode(errors="replace")
            return TOOK_OVER.search(text)
        try:
            match = wait_for(took_over, timeout_s, "a successor took over after SIGUSR2")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{gateway.log_tail()}") from None
        if int(match.group(2)) != gateway.pid:
            raise AssertionError(f"took over from {match.group(2)}, not {gateway.pid}")
        return cls(int(match.group(1)))

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return self.wait(0) is None

    def wait(self, timeout_s: float) -> int | None:
        """Exit status (negative: signal) or None while it runs."""
        if self.status is not None:
            return self.status
        if self.popen is not None:
            try:
                self.status = self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                return None
            return self.status
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                pid, raw = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # not reparented to us yet
                pid, raw = 0, 0
            if pid == self.pid:
                self.status = os.waitstatus_to_exitcode(raw)
                return self.status
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def stop(self, timeout_s: float = 15.0) -> int | None:
        if self.wait(0) is not None:
            return self.status
        os.kill(self.pid, signal.SIGTERM)
        status = self.wait(timeout_s)
        if status is None:
            os.kill(self.pid, signal.SIGKILL)
            self.wait(5)
        return status
