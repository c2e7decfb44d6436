"""The event log on a full disk (issue 14.3, fault table): [paths] event_log
on a 256 KiB tmpfs that fills up under traffic. Flows keep being inspected
and bypassed (the data path never waits on the log), and the lost lines are
counted (`tlsgatectl stats`: events.failed_writes). Once space is freed the
log is written again."""

import os
import subprocess
import time
import unittest

import lab_kernel as k
from lab_case import LabTestCase
from lab_gateway import gateway_binaries


class EventDiskFullTest(LabTestCase):
    def test_flows_go_on_and_the_loss_is_counted(self):
        disk = self.lab.dir / "eventdisk"
        disk.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tlsgate-events", str(disk)],
                       check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", str(disk)], check=False)
        filler = disk / "filler"
        gateway = self.lab.start_gateway(settings={"paths": {"event_log": str(disk / "ev.jsonl")}})
        _, ctl = gateway_binaries()
        # Fill the disk to the last byte.
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for chunk in (65536, 4096, 1):
                try:
                    while os.write(fd, b"\0" * chunk) > 0:
                        pass
                except OSError:
                    pass  # ENOSPC: on to smaller writes
        finally:
            os.close(fd)
        before = k.stats(self.lab.topology, ctl, gateway.config)["events"]["failed_writes"]
        bundle = self.lab.client_bundle()
        started = time.monotonic()
        ok = 0
        for i in range(20):
            site = "good.lab.test" if i % 2 == 0 else "bypass.lab.test"
            ca = bundle if i % 2 == 0 else self.lab.pki.root_cert
            result = self.curl(site, 4, ca)
            self.assertEqual(result.exit_code, 0, result.describe())
            ok += 1
        elapsed = time.monotonic() - started
        after = k.stats(self.lab.topology, ctl, gateway.config)["events"]["failed_writes"]
        self.assertGreaterEqual(after - before, 10, "lost event lines not counted")
        # Space again: the next flow's event is written.
        os.unlink(filler)
        size = (disk / "ev.jsonl").stat().st_size
        self.assert_body(self.curl("good.lab.test", 4, bundle), "good.lab.test")
        deadline = time.monotonic() + 5
        while (disk / "ev.jsonl").stat().st_size == size:
            self.assertLess(time.monotonic(), deadline, "nothing written once space was freed")
            time.sleep(0.05)
        print(f"event log on a full disk: {ok}/20 flows served in {elapsed:.2f}s, "
              f"{after - before} event lines lost and counted, writing resumed once space "
              f"was freed")


if __name__ == "__main__":
    unittest.main()
