"""A real antivirus ICAP service for the lab (../shared/recipes/
icap-clamav-offline.md): clamd with a signature database written here (the
EICAR file by hash, the EICAR string inside any file by body signature) and
c-icap's virus_scan over it, listening on 127.0.0.1 in the router namespace,
where tlsgated runs. Both are started in their own process groups and
stopped by pid."""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import time

from lab_netns import Topology, end_pids

EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
PORT = 1344

_CLAMD = """\
DatabaseDirectory {dir}/db
LocalSocket {dir}/clamd.sock
Foreground yes
LogFile {dir}/clamd.log
PidFile {dir}/clamd.pid
TemporaryDirectory /tmp
User root
"""

_CICAP = """\
PidFile {dir}/c-icap.pid
CommandsSocket {dir}/c-icap.ctl
Port 127.0.0.1:{port}
ServerLog {dir}/server.log
AccessLog {dir}/access.log
TmpDir /tmp
StartServers 1
MaxServers 4
ThreadsPerChild 32
MaxRequestsPerChild 0
ModulesDir /usr/lib/x86_64-linux-gnu/c_icap
ServicesDir /usr/lib/x86_64-linux-gnu/c_icap
TemplateDir /usr/share/c_icap/templates/
TemplateDefaultLanguage en
LoadMagicFile /etc/c-icap/c-icap.magic
Module common clamd_mod.so
clamd_mod.ClamdSocket {dir}/clamd.sock
Service antivirus_module virus_scan.so
ServiceAlias avscan virus_scan?allow204=on&sizelimit=off&mode=simple
virus_scan.ScanFileTypes TEXT DATA EXECUTABLE ARCHIVE GIF JPEG MSOFFICE
virus_scan.MaxObjectSize 200M
"""


class AvService:
    def __init__(self, topology: Topology, directory: pathlib.Path, clamd_extra: str = "",
                 icap_extra: str = ""):
        self.topology = topology
        self.clamd_extra = clamd_extra  # more clamd.conf lines (e.g. scan-size limits)
        self.icap_extra = icap_extra  # more c-icap.conf lines (e.g. another ServiceAlias)
        self.dir = directory
        self.clamd: subprocess.Popen | None = None
        self.icap: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"icap://127.0.0.1:{PORT}/avscan"

    def start(self, timeout_s: float = 30.0) -> None:
        (self.dir / "db").mkdir(parents=True, exist_ok=True)
        (self.dir / "db" / "lab.hdb").write_text(
            "44d88612fea8a8f36de82e1278abb02f:68:Lab.Eicar.Test\n")
        (self.dir / "db" / "lab.ndb").write_text(f"Lab.Eicar.Body:0:*:{EICAR.hex()}\n")
        (self.dir / "clamd.conf").write_text(_CLAMD.format(dir=self.dir) + self.clamd_extra)
        (self.dir / "c-icap.conf").write_text(_CICAP.format(dir=self.dir, port=PORT)
                                              + self.icap_extra)
        deadline = time.monotonic() + timeout_s
        self.clamd = subprocess.Popen(["clamd", "-c", str(self.dir / "clamd.conf")],
                                      stdout=open(self.dir / "clamd.out", "wb"),
                                      stderr=subprocess.STDOUT, start_new_session=True)
        while not (self.dir / "clamd.sock").exists():
            if self.clamd.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"clamd did not start (see {self.dir}/clamd.out)")
            time.sleep(0.1)
        self.start_icap(deadline)

    def start_icap(self, deadline: float | None = None) -> None:
        deadline = deadline or time.monotonic() + 30
        self.icap = subprocess.Popen(
            self.topology.ns_argv("router", ["c-icap", "-N", "-D", "-f",
                                             str(self.dir / "c-icap.conf")]),
            stdout=open(self.dir / "c-icap.out", "wb"), stderr=subprocess.STDOUT,
            start_new_session=True)
        while not self._answers():
            if self.icap.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"c-icap did not start (see {self.dir}/c-icap.out)")
            time.sleep(0.1)

    def _answers(self) -> bool:
        probe = self.topology.run_in("router", ["python3", "-c", (
            "import socket,sys\n"
            f"s=socket.socket(); s.settimeout(1)\n"
            f"sys.exit(s.connect_ex(('127.0.0.1',{PORT})))")], check=False)
        return probe.returncode == 0

    def _group_signal(self, proc: subprocess.Popen | None, sig: int) -> None:
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass

    def stop_icap(self) -> list[str]:
        problems = []
        if self.icap is not None:
            self._group_signal(self.icap, signal.SIGCONT)
            self._group_signal(self.icap, signal.SIGTERM)
            try:
                self.icap.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._group_signal(self.icap, signal.SIGKILL)
                self.icap.wait(timeout=5)
                problems.append("c-icap needed SIGKILL")
            self.icap = None
        return problems

    def pause_icap(self) -> None:
        self._group_signal(self.icap, signal.SIGSTOP)

    def resume_icap(self) -> None:
        self._group_signal(self.icap, signal.SIGCONT)

    def stop(self) -> list[str]:
        problems = self.stop_icap()
        if self.clamd is not None:
            problems += [f"clamd pid {p} survived" for p in end_pids([self.clamd.pid])]
            self.clamd.wait(timeout=5)
            self.clamd = None
        return problems
