"""Decrypted capture per rule (issue 15) in the lab: a rule with
capture = "keylog" leaves NSS key log lines of both TLS legs of its flows in
the [capture] directory (mode 0600); tshark decrypts a tcpdump of the client
leg with them and shows the request; a flow outside the rule adds no line."""

import os
import pathlib
import signal
import stat
import subprocess
import time
import unittest

from lab_case import LabTestCase
from lab_gateway import LAB_RULES

CAPTURED = "good.lab.test"
NOT_CAPTURED = "mixed.lab.test"  # inspected by the default action


class TcpdumpOnClient:
    """tcpdump on the client's interface, inside the client namespace."""

    def __init__(self, lab, path: pathlib.Path):
        self.path = path
        argv = lab.topology.ns_argv("client", ["tcpdump", "-Z", "root", "--immediate-mode", "-i", lab.topology.client_if, "-U",
                                                "-w", str(path), "tcp", "port", "443"])
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        deadline = time.monotonic() + 10
        while self.proc.poll() is None and time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if "listening on" in line:
                time.sleep(0.2)  # the socket is attached; let it settle
                return
        raise RuntimeError(f"tcpdump did not start (exit {self.proc.poll()})")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class CaptureKeylogTest(LabTestCase):
    def setUp(self):
        super().setUp()
        self.capture_dir = self.lab.dir / "capture"
        rules = LAB_RULES + ({"name": "capture-good", "action": "inspect", "sni": [CAPTURED],
                              "capture": "keylog"},)
        self.gateway = self.lab.start_gateway(
            rules=rules, settings={"capture": {"directory": str(self.capture_dir)}})

    def keylog_files(self) -> list[pathlib.Path]:
        if not self.capture_dir.exists():
            return []
        return sorted(self.capture_dir.glob("keylog-*.keys"))

    def keylog_lines(self, at_least: int) -> list[str]:
        deadline = time.monotonic() + 5
        while True:
            lines = [line for f in self.keylog_files() for line in f.read_text().splitlines()]
            if len(lines) >= at_least or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    def test_keylog_of_both_legs_decrypts_the_client_leg(self):
        self.assertFalse(self.keylog_files(), "nothing is captured before a captured flow")
        dump = TcpdumpOnClient(self.lab, self.lab.dir / "client-leg.pcap")
        self.addCleanup(dump.stop)
        self.assert_body(self.curl(CAPTURED, 4, self.gateway.root_ca, http1=True), CAPTURED)
        time.sleep(0.3)  # tcpdump -U has written the last segments
        dump.stop()

        # TLS 1.3 on both legs: 5 secrets each, two client randoms.
        lines = self.keylog_lines(at_least=10)
        labels = {line.split()[0] for line in lines}
        randoms = {line.split()[1] for line in lines}
        self.assertEqual(len(randoms), 2, f"one client random per leg:\n{lines}")
        self.assertIn("CLIENT_TRAFFIC_SECRET_0", labels, lines)
        self.assertIn("SERVER_TRAFFIC_SECRET_0", labels, lines)
        files = self.keylog_files()
        self.assertEqual(len(files), 1, files)
        mode = stat.S_IMODE(os.stat(files[0]).st_mode)
        self.assertEqual(mode, 0o600, oct(mode))

        shown = subprocess.run(
            ["tshark", "-n", "-r", str(dump.path), "-o", f"tls.keylog_file:{files[0]}",
             "-Y", "http.request", "-T", "fields", "-e", "http.request.method",
             "-e", "http.host", "-e", "http.request.uri"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        if f"GET\t{CAPTURED}\t/" not in shown.stdout:
            summary = subprocess.run(
                ["tshark", "-n", "-r", str(dump.path), "-o", f"tls.keylog_file:{files[0]}"],
                capture_output=True, text=True, timeout=60)
            size = dump.path.stat().st_size if dump.path.exists() else None
            self.fail(f"tshark shows no request:\n{shown.stdout}{shown.stderr}\n"
                      f"{dump.path} ({size} bytes):\n{summary.stdout}{summary.stderr}\n"
                      + "\n".join(lines))

        # Without the key log, the same file shows no request.
        blind = subprocess.run(
            ["tshark", "-n", "-r", str(dump.path), "-Y", "http.request"],
            capture_output=True, text=True, timeout=60)
        self.assertNotIn("GET", blind.stdout)

        opened = self.gateway.wait_event(
            lambda e: e.get("type") == "capture" and e.get("action") == "opened")
        self.assertIsNotNone(opened, "no capture event for the opened file")
        self.assertEqual(opened.get("file"), str(files[0]), opened)

        # A flow outside the rule adds nothing.
        self.assert_body(self.curl(NOT_CAPTURED, 4, self.gateway.root_ca), NOT_CAPTURED)
        time.sleep(0.5)
        self.assertEqual(self.keylog_lines(at_least=len(lines) + 1), lines)


if __name__ == "__main__":
    unittest.main()
