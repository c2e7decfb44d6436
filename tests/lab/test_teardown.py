"""The lab's teardown leaves nothing behind - no namespace, process, pin dir or
temp dir - whichever way the lab ends: an exception, the CLI, a signal."""

import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import unittest

from lab import Lab
from lab_case import new_lab_id
from lab_gateway import ensure_bpffs
from lab_netns import Topology, pid_alive

LAB_PY = str(pathlib.Path(__file__).with_name("lab.py"))


class Boom(Exception):
    pass


@unittest.skipUnless(os.geteuid() == 0, "lab tests need root (network namespaces)")
class TeardownTest(unittest.TestCase):
    def assert_gone(self, lab_id: str, directory: pathlib.Path, pids) -> None:
        self.assertEqual(Topology(lab_id).existing_namespaces(), [])
        self.assertEqual([p for p in pids if pid_alive(p)], [], "processes left running")
        self.assertFalse(pathlib.Path(f"/sys/fs/bpf/tlsgate-{lab_id}").exists(), "pin dir left")
        self.assertFalse(directory.exists(), f"{directory} left")

    def test_exception_inside_the_lab(self):
        lab_id = new_lab_id()
        with self.assertRaises(Boom):
            with Lab(lab_id) as lab:
                directory, pids = lab.dir, [lab.nginx.pid, *lab.nginx.worker_pids()]
                self.assertTrue(all(pid_alive(p) for p in pids) and len(pids) >= 2, pids)
                # What a crashed gateway leaves: a pin dir, and a process in the
                # router namespace that ignores SIGTERM.
                ensure_bpffs()
                (lab.gateway.pin_dir / "leftover").mkdir(parents=True)
                hung = subprocess.Popen(lab.topology.ns_argv(
                    "router", ["/bin/sh", "-c", "trap '' TERM; exec sleep 600"]))
                self.addCleanup(hung.wait, 10)
                pids.append(hung.pid)
                raise Boom()
        self.assert_gone(lab_id, directory, pids)

    def test_cli_up_then_down(self):
        lab_id = new_lab_id()
        directory = pathlib.Path(tempfile.mkdtemp(prefix=f"tlsgate-lab-{lab_id}-"))
        self.addCleanup(subprocess.run, [sys.executable, LAB_PY, "down", lab_id,
                                         str(directory)], capture_output=True)
        up = subprocess.run([sys.executable, LAB_PY, "up", lab_id, str(directory)],
                            capture_output=True, text=True, timeout=60)
        self.assertEqual(up.returncode, 0, up.stderr)
        self.assertEqual(len(Topology(lab_id).existing_namespaces()), 3)
        pids = [p for ps in Topology(lab_id).pids_inside().values() for p in ps]
        self.assertTrue(pids, "nginx should be running in the server namespace")
        down = subprocess.run([sys.executable, LAB_PY, "down", lab_id, str(directory)],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(down.returncode, 0, down.stderr)
        self.assert_gone(lab_id, directory, pids)

    def test_signals_while_holding(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(signal=sig.name):
                lab_id = new_lab_id()
                directory = pathlib.Path(tempfile.gettempdir(), f"tlsgate-lab-{lab_id}-hold")
                holder = subprocess.Popen([sys.executable, LAB_PY, "up", lab_id,
                                           str(directory), "--hold"],
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                          text=True)
                self.addCleanup(subprocess.run, [sys.executable, LAB_PY, "down", lab_id,
                                                 str(directory)], capture_output=True)
                output = ""
                for line in holder.stdout:
                    output += line
                    if "holding" in line:
                        break
                self.assertIn("holding", output)
                pids = [p for ps in Topology(lab_id).pids_inside().values() for p in ps]
                holder.send_signal(sig)
                output += holder.stdout.read()
                self.assertEqual(holder.wait(timeout=60), 0, output)
                self.assert_gone(lab_id, directory, pids)


if __name__ == "__main__":
    unittest.main()
