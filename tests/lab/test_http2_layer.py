"""The h2 half of the active HTTP layer (DESIGN.md §4a) end to end: the
gateway terminates h2 toward the client and toward nginx and relays stream by
stream. nghttp sends 100 concurrent streams on one connection; curl --http2
fetches, uploads and, with a `Host` naming another site, is answered 421 on
that stream by the gateway without nginx seeing it; nghttp with an
`:authority` naming another site than its SNI gets the same."""

import time

import lab_sites as plan
from lab_case import LabTestCase

SITE = "good.lab.test"
OTHER = "other.lab.test"
STREAMS = 100
# Within nginx's stream window: nginx's `return 200` answers a larger upload
# before reading it and resets the stream (NO_ERROR), on which curl 7.88 then
# waits out its timeout, with or without the gateway in between (a bypassed
# flow does the same). Large bodies both ways are in the unit tests.
UPLOAD_BYTES = 50_000


def bracket(address: str) -> str:
    return f"[{address}]" if ":" in address else address


class Http2LayerTest(LabTestCase):
    def setUp(self):
        super().setUp()
        self.gateway = self.lab.start_gateway()

    def h2_events(self, count: int) -> list[dict]:
        def mine():
            return [e for e in self.gateway.events()
                    if e.get("type") == "http" and e.get("sni") == SITE
                    and e.get("protocol") == "h2"]
        deadline = time.monotonic() + 10
        while len(mine()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        events = mine()
        self.assertEqual(len(events), count, f"http events\n{self.lab.diagnostics()}")
        return events

    def wait_access_lines(self, before: int, count: int) -> list[str]:
        deadline = time.monotonic() + 10
        while len(self.lab.nginx.access_lines(SITE)) < before + count:
            self.assertLess(time.monotonic(), deadline, "nginx did not log every request")
            time.sleep(0.05)
        return self.lab.nginx.access_lines(SITE)[before:]

    def curl_args(self) -> list[str]:
        """One curl transfer's options (each --next needs its own)."""
        address = bracket(plan.site_address(SITE, 4))
        return ["-sS", "--max-time", "20", "--http2", "--cacert", str(self.gateway.root_ca),
                "--resolve", f"{SITE}:443:{address}",
                "-w", r"%{http_version} %{response_code} %{num_connects}\n"]

    def test_many_concurrent_streams_on_one_connection(self):
        """nghttp -m 100: one connection, 100 streams at once, each relayed
        to nginx over the gateway's own h2 connection and answered."""
        before = len(self.lab.nginx.access_lines(SITE))
        address = plan.site_address(SITE, 4)
        # -H :authority sets nghttp's SNI too (it has no --resolve).
        argv = ["nghttp", "-n", "-s", "-t", "30", "-m", str(STREAMS),
                "-H", f":authority: {SITE}", f"https://{address}/many?x=1"]
        proc = self.lab.topology.run_in("client", argv, check=False, timeout=60)
        self.assertEqual(proc.returncode, 0, f"nghttp: {proc.stdout}\n{proc.stderr}")
        answered = [line for line in proc.stdout.splitlines() if " 200 " in line
                    and "/many?x=1" in line]
        self.assertEqual(len(answered), STREAMS, proc.stdout)

        logged = self.wait_access_lines(before, STREAMS)
        self.assertTrue(all(" HTTP/2.0 " in line for line in logged), logged[:3])
        events = self.h2_events(STREAMS)
        self.assertEqual({e["client"] for e in events}.__len__(), 1, "one connection")
        self.assertEqual(len({e["stream"] for e in events}), STREAMS)
        for e in events:
            self.assertEqual((e["method"], e["path"], e.get("status"), e["outcome"]),
                             ("GET", "/many?x=1", 200, "complete"), e)
            self.assertEqual(e["response_bytes"], len(f"site={SITE}\n"), e)

    def test_get_and_upload_with_curl(self):
        upload = self.lab.dir / "h2-upload.bin"
        upload.write_bytes(b"u" * UPLOAD_BYTES)
        argv = (["curl"] + self.curl_args() + ["-o", "-", f"https://{SITE}/get", "--next"]
                + self.curl_args() + ["-o", "/dev/null", "--data-binary", f"@{upload}",
                                      f"https://{SITE}/upload"])
        proc = self.lab.topology.run_in("client", argv, check=False, timeout=40)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(proc.stdout.startswith(f"site={SITE}\n"), proc.stdout)
        self.assertEqual(proc.stdout.splitlines()[1:], ["2 200 1", "2 200 0"], proc.stdout)
        events = {e["path"]: e for e in self.h2_events(2)}
        self.assertEqual(events["/upload"]["request_bytes"], UPLOAD_BYTES, events)
        self.assertEqual(events["/upload"]["method"], "POST", events)
        self.assertEqual(events["/get"]["outcome"], "complete", events)
        self.assertEqual(events["/get"]["response_bytes"], len(f"site={SITE}\n"), events)

    def test_another_authority_on_the_connection_is_answered_421_on_its_stream(self):
        """curl --http2 reuses its connection; a `Host` (its :authority)
        naming another site gets 421 from the gateway, nginx never sees it,
        and the connection goes on."""
        common = self.curl_args() + ["-o", "/dev/null"]
        argv = (["curl"] + common + [f"https://{SITE}/mine"] + ["--next"] + common
                + ["-H", f"Host: {OTHER}", f"https://{SITE}/theirs"] + ["--next"] + common
                + [f"https://{SITE}/again"])
        before = len(self.lab.nginx.access_lines(SITE))
        proc = self.lab.topology.run_in("client", argv, check=False, timeout=40)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.split(), ["2", "200", "1", "2", "421", "0", "2", "200", "0"],
                         "one connection; only the misdirected stream gets 421")
        logged = self.wait_access_lines(before, 2)
        time.sleep(0.3)
        paths = [line.split('"')[3].split()[1]
                 for line in self.lab.nginx.access_lines(SITE)[before:]]
        self.assertEqual(paths, ["/mine", "/again"], "the misdirected request reached nginx")
        self.assertEqual(len(logged), 2)
        events = self.h2_events(3)
        [misdirected] = [e for e in events if e["outcome"] == "misdirected"]
        self.assertEqual((misdirected["host"], misdirected["path"], misdirected["status"]),
                         (OTHER, "/theirs", 421), misdirected)
        self.assertEqual(len({e["client"] for e in events}), 1, events)

    def test_nghttp_authority_naming_another_site_is_answered_421(self):
        """nghttp's SNI is its `:authority` override: src/nghttp.cc takes the
        first `-H ':authority: …'` (or `host`) as host_override and sends it as
        SNI, so one override names the other site in SNI too and is no
        misdirected request at all. Given twice, the first override is the
        SNI and the last the request's :authority (each -H replaces the value
        before it in the request's fields): SNI good, :authority other, on the
        wire exactly as from a client that coalesces the two names."""
        address = plan.site_address(SITE, 4)
        argv = ["nghttp", "-n", "-s", "-t", "20", "-H", f":authority: {SITE}",
                "-H", f":authority: {OTHER}", f"https://{address}/theirs"]
        proc = self.lab.topology.run_in("client", argv, check=False, timeout=40)
        answered = [line.split() for line in proc.stdout.splitlines() if "/theirs" in line]
        self.assertEqual(len(answered), 1, f"nghttp: {proc.stdout}\n{proc.stderr}")
        self.assertIn("421", answered[0], proc.stdout)
        [event] = self.h2_events(1)
        self.assertEqual((event["sni"], event["host"], event["path"], event["status"],
                          event["outcome"]), (SITE, OTHER, "/theirs", 421, "misdirected"), event)
        time.sleep(0.3)
        self.assertEqual([line for line in self.lab.nginx.access_lines(SITE) if "/theirs" in line],
                         [], "the misdirected request reached nginx")
