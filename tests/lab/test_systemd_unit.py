"""tlsgated under a real systemd (tests/lab/lab_systemd.py: systemd booted in
its own PID and mount namespace inside the router's network namespace) with
the shipped unit's service settings: the hitless restart by SIGUSR2 hands
MainPID to the new process (NotifyAccess=main: the old process names it with
MAINPID=), and `systemctl reload` and `systemctl stop` reach that process;
stop removes the kernel side. `systemctl restart` keeps the kernel side and
the listeners (systemd's fd store): a kernel-decided 100 MiB download runs
through it intact."""

import threading
import time
import unittest

import lab_kernel as k
import lab_sites as plan
from lab_case import LabTestCase
from lab_gateway import READY_LINE, ensure_bpffs, gateway_binaries
from lab_netns import pid_alive
from lab_pki import INTERMEDIATE_CN
from lab_restart import TOOK_OVER, wait_for
from lab_systemd import DBUS_DAEMON, ContainedSystemd, tlsgate_unit
import test_restart as restart_plan

GOOD = "good.lab.test"
UNIT = "tlsgate.service"
# Shorter than the unit's 30 s, so that a new main process that does not feed
# systemd's watchdog is caught (it would be killed and restarted).
WATCHDOG_S = 3


# The same bypassed site, port, size and rules as tests/lab/test_restart.py.
BYPASSED, PORT, MB, TRANSFER, RULES = (restart_plan.BYPASSED, restart_plan.PORT,
                                       restart_plan.MB, restart_plan.TRANSFER, restart_plan.RULES)


class SystemdUnitTest(LabTestCase):
    def setUp(self):
        super().setUp()
        if not DBUS_DAEMON.exists():
            self.skipTest("no dbus-daemon (scripts/install-deps.sh installs it)")
        gw = self.lab.gateway
        gw.rules = RULES
        gw.settings = {"gateway": {"intercept_ports": [443, PORT]}}
        gw.dir.mkdir(parents=True, exist_ok=True)
        ensure_bpffs()
        gw.write_config()
        tlsgated, self.tlsgatectl = gateway_binaries()
        self.systemd = ContainedSystemd(self.lab.dir / "systemd", self.lab.topology.ns["router"],
                                        {UNIT: tlsgate_unit(tlsgated, gw.config, gw.stderr_path,
                                                            {"WatchdogSec": f"{WATCHDOG_S}s"})})
        self.addCleanup(self.systemd.stop)
        self.systemd.start()

    def log_since(self, offset: int) -> str:
        path = self.lab.gateway.stderr_path
        return path.read_bytes()[offset:].decode(errors="replace") if path.exists() else ""

    def log_size(self) -> int:
        path = self.lab.gateway.stderr_path
        return path.stat().st_size if path.exists() else 0

    def state(self) -> tuple[str, str]:
        return (self.systemd.show(UNIT, "ActiveState"), self.systemd.show(UNIT, "SubState"))

    def test_sigusr2_hands_main_pid_over_and_reload_and_stop_reach_the_new_process(self):
        gw, sd = self.lab.gateway, self.systemd
        sd.systemctl("start", UNIT)  # returns once READY=1 arrived (Type=notify)
        self.assertEqual(self.state(), ("active", "running"))
        self.assertIn(READY_LINE, self.log_since(0))
        old_main = int(sd.show(UNIT, "MainPID"))
        old_host = sd.host_pid(UNIT)
        gw.pid = old_host
        gw.export_root_ca(self.tlsgatectl)
        self.assertTrue(self.handshake(GOOD, 4).completed)

        offset = self.log_size()
        sd.systemctl("kill", "-s", "USR2", "--kill-whom=main", UNIT)
        match = wait_for(lambda: TOOK_OVER.search(self.log_since(offset)), 30,
                         "a successor took over:\n" + gw.log_tail())
        new_main, predecessor = int(match.group(1)), int(match.group(2))
        self.assertEqual(predecessor, old_main)
        wait_for(lambda: int(sd.show(UNIT, "MainPID")) == new_main, 10,
                 f"systemd's MainPID becomes {new_main}")
        self.assertEqual(self.state(), ("active", "running"))
        new_host = sd.host_pid(UNIT)
        gw.pid = new_host
        # The old process drains (no flows) and leaves; the unit stays up,
        # its watchdog fed by the new process.
        wait_for(lambda: not pid_alive(old_host), 30, "the old process exits")
        time.sleep(2 * WATCHDOG_S)
        self.assertEqual(self.state(), ("active", "running"), gw.log_tail())
        self.assertEqual(sd.show(UNIT, "NRestarts"), "0")
        self.assertEqual(int(sd.show(UNIT, "MainPID")), new_main)
        self.assertTrue(self.handshake(GOOD, 4).completed)

        offset = self.log_size()
        sd.systemctl("reload", UNIT)  # ExecReload=kill -HUP $MAINPID
        wait_for(lambda: "configuration reloaded" in self.log_since(offset), 10,
                 "the new process reloads:\n" + gw.log_tail())
        self.assertEqual(self.state(), ("active", "running"))

        sd.systemctl("stop", UNIT)
        self.assertEqual(self.state(), ("inactive", "dead"),
                         sd.systemctl("status", UNIT, check=False).stdout + gw.log_tail())
        self.assertEqual(sd.show(UNIT, "Result"), "success", gw.log_tail())
        self.assertFalse(pid_alive(new_host))
        self.assertIn("tlsgated: stopped", self.log_since(offset))
        self.assertFalse(gw.pin_dir.exists(), "pins left after systemctl stop")
        self.assertEqual(gw.tc_filters(), "", "TC filter left after systemctl stop")
        self.assertEqual(gw.fwmark_rules(), [], "fwmark rules left after systemctl stop")
        gw.pid = None

    def test_restart_keeps_kernel_decided_flows_and_stop_removes_everything(self):
        """systemd runs `restart` as stop + start. The stopping process sees
        the restart job on the bus, keeps the kernel side (flow table,
        learned map, TC program) and leaves its listeners in the fd store:
        a flow the kernel forwards itself runs through the restart intact.
        A stop afterwards removes everything and systemd flushes the store."""
        gw, sd = self.lab.gateway, self.systemd
        peer = k.start_peer(
            self.lab.topology, "server", "--cert",
            str(self.lab.pki.served_chain(plan.site(BYPASSED))),
            "--key", str(self.lab.pki.leaf_key(plan.site(BYPASSED))),
            "--listen", f"{plan.site_v4(BYPASSED)}:{PORT}")
        self.addCleanup(k.stop_peer, peer)
        address = plan.site_address(BYPASSED, 4)
        sd.systemctl("start", UNIT)
        gw.pid = sd.host_pid(UNIT)
        gw.export_root_ca(self.tlsgatectl)
        ca = self.lab.pki.root_cert
        # A bypassed flow teaches the kernel the server: the next one is its own.
        first = k.peer_client(self.lab.topology, address, PORT, BYPASSED, ca, "--download",
                              str(MB))
        self.assertTrue(first.get("download_ok"), first)
        wait_for(lambda: k.learned_verdict(gw.pin_dir, address, PORT) == "bypass_only", 10,
                 f"{BYPASSED} learned as bypass-only")

        result = {}

        def download():
            # Paced over 8 s: running when the restart comes.
            result.update(k.peer_client(self.lab.topology, address, PORT, BYPASSED, ca,
                                        "--download", str(TRANSFER), "--download-seconds", "8",
                                        timeout=170))
        thread = threading.Thread(target=download, daemon=True)
        thread.start()
        time.sleep(2)
        offset = self.log_size()
        sd.systemctl("restart", UNIT)
        self.assertEqual(self.state(), ("active", "running"))
        gw.pid = sd.host_pid(UNIT)
        log = self.log_since(offset)
        self.assertIn("systemctl restart: keeping the kernel side and the listening sockets", log)
        self.assertRegex(log, r"restart: took \d+ listening sockets back from systemd")
        # Out of the store again: a crash now must leave no listener behind.
        self.assertEqual(sd.show(UNIT, "NFileDescriptorStore"), "0")
        thread.join(timeout=180)
        self.assertTrue(result.get("download_ok"), f"{result}\n{gw.log_tail()}")
        self.assertEqual(result["issuer_cn"], INTERMEDIATE_CN)  # the server's own chain
        self.assertTrue(self.handshake(GOOD, 4).completed)  # inspection resumed
        print(f"systemctl restart: kernel-decided download {TRANSFER // MB} MiB intact")

        sd.systemctl("stop", UNIT)
        self.assertEqual(self.state(), ("inactive", "dead"), gw.log_tail())
        self.assertEqual(sd.show(UNIT, "NFileDescriptorStore"), "0")
        self.assertFalse(gw.pin_dir.exists(), "pins left after systemctl stop")
        self.assertEqual(gw.tc_filters(), "", "TC filter left after systemctl stop")
        self.assertEqual(gw.fwmark_rules(), [], "fwmark rules left after systemctl stop")
        gw.pid = None


if __name__ == "__main__":
    unittest.main()
