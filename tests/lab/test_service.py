"""tlsgated as systemd runs it, without systemd: the notify protocol through a
NOTIFY_SOCKET the test owns (READY, STATUS, WATCHDOG, RELOADING, STOPPING),
and the unit's user and capabilities (an unprivileged uid with exactly the
unit's capability set, bpffs mounted root-only as systemd does).
"""

import json
import os
import pathlib
import signal
import unittest

import lab_sites as plan
from lab_case import LabTestCase
from lab_netns import run
from lab_restart import Successor, become_subreaper
from lab_service import Ctl, FakeJournal, NotifySocket, start_gateway_with, unit_setting

GOOD = "good.lab.test"
WATCHDOG_USEC = 400000  # pings expected every 200 ms
# An unused uid/gid standing in for the unit's User=tlsgate.
SERVICE_UID = 64721


class ServiceTest(LabTestCase):
    def test_notify_protocol_and_watchdog(self):
        notify = NotifySocket(self.lab.dir / "notify.sock")
        self.addCleanup(notify.close)
        gw = start_gateway_with(self.lab, env={"NOTIFY_SOCKET": str(notify.path),
                                               "WATCHDOG_USEC": str(WATCHDOG_USEC)})
        ready = notify.wait_for("READY", "1")
        self.assertIn("rules=2", notify.messages[ready].get("STATUS", ""), notify.messages)
        # The watchdog is fed, repeatedly, once every worker has answered.
        first = notify.wait_for("WATCHDOG", "1", after=ready)
        second = notify.wait_for("WATCHDOG", "1", after=first + 1)
        notify.wait_for("WATCHDOG", "1", after=second + 1)

        os.kill(gw.pid, signal.SIGHUP)
        reloading = notify.wait_for("RELOADING", "1", after=second + 1)
        self.assertIn("MONOTONIC_USEC", notify.messages[reloading])
        notify.wait_for("READY", "1", after=reloading + 1)
        notify.wait_for("WATCHDOG", "1", after=reloading + 1)  # still fed after a reload

        # A bad file on SIGHUP: refused, STATUS says so, and still ready.
        gw.config.write_text(gw.config.read_text() + "bogus = 1\n")
        os.kill(gw.pid, signal.SIGHUP)
        refused = notify.wait_for("RELOADING", "1", after=reloading + 1)
        status = notify.wait_for("STATUS", after=refused + 1)
        self.assertIn("last reload refused", notify.messages[status]["STATUS"])
        notify.wait_for("READY", "1", after=refused + 1)
        self.assertIn("reload refused, keeping the running configuration", gw.log_tail())
        self.assertTrue(self.handshake(GOOD, 4).completed)

        self.assertEqual(gw.terminate(), 0, gw.log_tail())
        stopping = notify.wait_for("STOPPING", "1", after=refused + 1)
        self.assertFalse(any("READY" in m or "WATCHDOG" in m
                             for m in notify.messages[stopping + 1:]), notify.messages)

    def test_hitless_restart_hands_the_main_pid_to_the_successor(self):
        """NotifyAccess=main: systemd takes notifications from the main
        process only. On SIGUSR2 the old process names its successor
        (MAINPID=, the pid the kernel saw on the hand-over socket) before the
        successor says READY=1; from then on every notification is the
        successor's, and SIGHUP/SIGTERM to it (`systemctl reload`/`stop` to
        $MAINPID) reload and stop the gateway."""
        become_subreaper()
        notify = NotifySocket(self.lab.dir / "notify.sock")
        self.addCleanup(notify.close)
        gw = start_gateway_with(self.lab, env={"NOTIFY_SOCKET": str(notify.path)})
        ready = notify.wait_for("READY", "1")
        self.assertEqual(notify.messages[ready]["SENDER_PID"], str(gw.pid))

        successor = Successor.by_signal(gw)
        self.addCleanup(successor.stop)
        handed = notify.wait_for("MAINPID", after=ready + 1)
        self.assertEqual(notify.messages[handed]["MAINPID"], str(successor.pid), notify.messages)
        self.assertEqual(notify.messages[handed]["SENDER_PID"], str(gw.pid), notify.messages)
        new_ready = notify.wait_for("READY", "1", after=handed + 1)
        self.assertEqual(notify.messages[new_ready]["SENDER_PID"], str(successor.pid))
        self.assertEqual(gw.process.wait(timeout=30), 0, gw.log_tail())  # drained: no flows

        os.kill(successor.pid, signal.SIGHUP)
        reloading = notify.wait_for("RELOADING", "1", after=new_ready + 1)
        notify.wait_for("READY", "1", after=reloading + 1)
        self.assertTrue(self.handshake(GOOD, 4).completed)
        self.assertEqual(successor.stop(), 0, gw.log_tail())
        notify.wait_for("STOPPING", "1", after=reloading + 1)
        self.assertFalse(gw.pin_dir.exists(), "pins left after the successor stopped")
        senders = {m["SENDER_PID"] for m in notify.messages[handed + 1:]}
        self.assertEqual(senders, {str(successor.pid)}, notify.messages[handed:])

    def test_events_reach_the_journal_with_the_same_fields(self):
        journal = FakeJournal(self.lab.dir / "journal")
        self.addCleanup(journal.close)
        router = self.lab.topology.ns["router"]

        def with_journal(argv):
            # The router's network, then a mount namespace where journald's
            # socket directory is ours.
            return ["nsenter", f"--net=/run/netns/{router}", "--", "unshare", "--mount",
                    "--propagation", "private", "--", "sh", "-c",
                    'mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && '
                    'mount --bind "$0" /run/systemd/journal && exec "$@"',
                    str(journal.dir), *argv]

        gw = start_gateway_with(self.lab, argv_wrapper=with_journal)
        self.assertTrue(self.handshake(GOOD, 4).completed)
        self.handshake("expired.lab.test", 4)  # for its tls event
        for kind, site in (("flow", GOOD), ("tls", "expired.lab.test")):
            with self.subTest(type=kind):
                event = gw.wait_event(lambda e: e.get("type") == kind and e.get("sni") == site)
                self.assertIsNotNone(event, self.lab.diagnostics())
                entry = journal.wait_for(lambda j: j.get("TYPE") == [kind]
                                         and j.get("SNI") == [site])
                for key, value in event.items():
                    values = value if isinstance(value, list) else [value]
                    expected = [v if isinstance(v, str) else json.dumps(v) for v in values]
                    self.assertEqual(entry.get(key.upper()), expected, key)
                self.assertEqual(entry["SYSLOG_IDENTIFIER"], ["tlsgated"])
                self.assertTrue(entry["MESSAGE"][0].startswith(f"{kind} "), entry["MESSAGE"])
                self.assertEqual(len(entry["MESSAGE_ID"][0]), 32)
        self.assertEqual(Ctl(gw).json("stats")["events"]["journal_failures"], 0)

    def service_wrapper(self, caps):
        """tlsgated as the unit runs it: an unprivileged uid holding exactly
        `caps`, no new privileges, bpffs mounted root-only as systemd does
        (in a private mount namespace), the router's network namespace."""
        cap_list = ",".join("+" + c.lower().removeprefix("cap_") for c in caps)
        # What the unit's directories give the service user: its own state,
        # log and runtime directories, a config directory it may write.
        gw = self.lab.gateway
        gw.dir.mkdir(parents=True, exist_ok=True)
        for path in (self.lab.dir, self.lab.pki.dir):
            path.chmod(0o711)
        os.chmod(self.lab.pki.trust_bundle, 0o644)
        os.chown(gw.dir, SERVICE_UID, SERVICE_UID)

        def wrap(argv):
            inner = ["nsenter", f"--net=/run/netns/{self.lab.topology.ns['router']}", "--",
                     "setpriv", f"--reuid={SERVICE_UID}", f"--regid={SERVICE_UID}",
                     "--clear-groups", f"--inh-caps=-all,{cap_list}",
                     f"--ambient-caps=-all,{cap_list}", f"--bounding-set=-all,{cap_list}",
                     "--no-new-privs", *argv]
            return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                    'mount -t bpf -o mode=0700 bpf /sys/fs/bpf && exec "$@"', "sh", *inner]
        return wrap

    def unit_capabilities(self):
        # As administrators are told to: the CA distribution page on port 80.
        self.lab.gateway.settings = {
            "ca": {"distribution_listen": [f"{self.lab.topology.router_lan_if}:80"]}}
        caps = unit_setting("AmbientCapabilities")
        self.assertEqual(sorted(caps), sorted(unit_setting("CapabilityBoundingSet")))
        self.assertEqual(unit_setting("NoNewPrivileges"), ["yes"])
        self.assertEqual(unit_setting("User"), ["tlsgate"])
        return caps

    def test_unit_user_and_capabilities_are_enough(self):
        gw = start_gateway_with(self.lab,
                                argv_wrapper=self.service_wrapper(self.unit_capabilities()))
        status = pathlib.Path(f"/proc/{gw.pid}/status").read_text()
        self.assertIn(f"Uid:\t{SERVICE_UID}", status)
        self.assertIn("NoNewPrivs:\t1", status)

        hs = self.handshake(GOOD, 4)
        self.assertTrue(hs.completed, hs.describe() + "\n" + self.lab.diagnostics())
        self.assertTrue(hs.chain[0].issuer_cn.startswith("tlsgate"))
        self.assert_body(self.curl(GOOD, 6, gw.root_ca), GOOD)
        # The control socket and rule write-back work as that user too.
        ctl = Ctl(gw)
        ctl.run("bypass", "add", "--dst", plan.site_address(GOOD, 4))
        self.assert_lab_chain(self.handshake(GOOD, 4), GOOD)
        self.assertEqual(os.stat(gw.config).st_uid, SERVICE_UID)
        for path in gw.state_dir.rglob("*.key"):
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600, path)

        self.assertEqual(gw.terminate(), 0, gw.log_tail())
        self.assertEqual(gw.tc_filters(), "", "TC filter left on the LAN veth")
        self.assertEqual(gw.fwmark_rules(), [], "fwmark rule left behind")
        self.assertNotIn("cannot", gw.log_tail())

    def test_each_unit_capability_is_needed(self):
        caps = self.unit_capabilities()
        for missing in caps:
            with self.subTest(without=missing):
                wrap = self.service_wrapper([c for c in caps if c != missing])
                with self.assertRaises(AssertionError) as refused:
                    start_gateway_with(self.lab, argv_wrapper=wrap)
                self.assertIn("tlsgated: cannot start", str(refused.exception))
                self.assertEqual(self.lab.gateway.process.wait(timeout=10), 1)
                self.assertEqual(self.lab.gateway.tc_filters(), "")
                self.lab.gateway.process = None  # its exit status 1 was expected


if __name__ == "__main__":
    unittest.main()
