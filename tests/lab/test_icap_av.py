"""Antivirus over ICAP with real clients and real files (issue 13, item 4;
../shared/DESIGN.md §4a): nginx serves EICAR plain, chunked, inside a zip
and gzip-encoded; curl (HTTP/1.1 and h2) and nghttp download them through
the gateway, which hands every response to c-icap's virus_scan over clamd
(lab_av.py) and uploads to the same service by REQMOD.

What a user sees: an infected download is the gateway's block page naming
the threat, the URL and the service, and not one byte of the file; an
infected upload is the same page and nginx never logs the request; clean
objects arrive byte-exact, scanned (20 MiB) or past max_scan_size (100 MiB,
oversize = "pass").

One lab, one clamd and one c-icap for the whole class (starting them is
most of the cost).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pathlib
import threading
import time
import unittest
import zipfile

import lab_sites as plan
from lab import Lab
from lab_av import EICAR
from lab_case import new_lab_id
from lab_gateway import LAB_RULES
from lab_service import Ctl, scrape

SITE = "files.lab.test"
MIB = 1 << 20
WORKERS = 2
MAX_CONNECTIONS = 3  # for the gateway, fewer than WORKERS * 2


def bracket(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def zipped(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return out.getvalue()


@unittest.skipUnless(os.geteuid() == 0, "lab tests need root (network namespaces)")
class AvLabTestCase(unittest.TestCase):
    """One lab for the class: the core sites, files.lab.test, and clamd +
    c-icap in the router namespace (stopped by the lab's teardown)."""

    maxDiff = None

    @classmethod
    def bring_up_lab(cls) -> None:
        cls.lab = Lab(new_lab_id(), sites=plan.core_sites() + plan.AV_SITES)
        cls.lab.up()
        cls.addClassCleanup(cls.lab.down)
        cls.av = cls.lab.start_av()


class IcapAvTest(AvLabTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.bring_up_lab()
        cls.lab.gateway.icap = [
            {"name": "av", "url": cls.av.url, "method": "respmod", "timeout": "10s",
             "max_connections": MAX_CONNECTIONS},
            {"name": "upload-av", "url": cls.av.url, "method": "reqmod", "timeout": "10s",
             "max_connections": MAX_CONNECTIONS},
        ]
        cls.gateway = cls.lab.start_gateway(settings={"gateway": {"workers": WORKERS}})
        cls.ctl = Ctl(cls.gateway)
        cls.files = cls.lab.nginx.docroot(SITE)
        (cls.files / "gz").mkdir(exist_ok=True)
        (cls.files / "chunked").mkdir(exist_ok=True)
        (cls.files / "eicar.txt").write_bytes(EICAR)
        (cls.files / "chunked" / "eicar.txt").write_bytes(EICAR)
        (cls.files / "eicar.zip").write_bytes(zipped("eicar.com", EICAR))
        (cls.files / "gz" / "eicar.txt").write_bytes(gzip.compress(EICAR))

    # --- helpers -------------------------------------------------------------------

    def curl(self, path: str, *options: str, http: str = "1.1") -> tuple[str, bytes]:
        """GET (or what `options` say) through the gateway: (status line
        "<http_version> <code>", body as received)."""
        out = self.lab.dir / f"curl-{time.monotonic_ns()}.out"
        address = bracket(plan.site_address(SITE, 4))
        argv = ["curl", "-sS", "--max-time", "60", f"--http{http}", "--cacert",
                str(self.gateway.root_ca), "--resolve", f"{SITE}:443:{address}",
                "-o", str(out), "-w", r"%{http_version} %{response_code}", *options,
                f"https://{SITE}{path}"]
        proc = self.lab.topology.run_in("client", argv, check=False, timeout=90)
        self.assertEqual(proc.returncode, 0, f"curl {path}: {proc.stderr}")
        body = out.read_bytes() if out.exists() else b""
        out.unlink(missing_ok=True)
        return proc.stdout.strip(), body

    def icap_event(self, url: str, **match) -> dict:
        def mine():
            return [e for e in self.gateway.events() if e.get("type") == "icap"
                    and e.get("url") == url and all(e.get(k) == v for k, v in match.items())]
        deadline = time.monotonic() + 10
        while not mine() and time.monotonic() < deadline:
            time.sleep(0.05)
        found = mine()
        self.assertEqual(len(found), 1, f"icap events for {url} {match}: "
                         f"{[e for e in self.gateway.events() if e.get('type') == 'icap']}")
        return found[0]

    def assert_block_page(self, status: str, body: bytes, url: str, service: str,
                          forbidden: bytes, version: str = "1.1") -> None:
        page = body.decode(errors="replace")
        self.assertEqual(status, f"{version} 403", page[:300])
        self.assertIn("Lab.Eicar.", page, "the page names the threat")
        self.assertIn(url, page)
        self.assertIn(service, page)
        self.assertNotIn(EICAR, body, "nothing of the infected body")
        self.assertNotIn(forbidden, body, "nothing of the file as served")

    # --- downloads -----------------------------------------------------------------

    def test_eicar_downloads_over_http1_plain_chunked_zip_and_gzip_are_blocked(self):
        # The upstream really frames /chunked/ without a length, and /gz/ as
        # gzip: asked directly, without the gateway.
        address = bracket(plan.site_address(SITE, 4))
        direct = self.lab.topology.run_in("server", [
            "curl", "-sS", "--insecure", "--http1.1", "-D", "-", "-o", "/dev/null",
            "--resolve", f"{SITE}:443:{address}", f"https://{SITE}/chunked/eicar.txt",
            "--next", "--insecure", "--http1.1", "-D", "-", "-o", "/dev/null",
            "--resolve", f"{SITE}:443:{address}", f"https://{SITE}/gz/eicar.txt"],
            check=False, timeout=30)
        heads = direct.stdout.lower()
        self.assertIn("transfer-encoding: chunked", heads, direct.stdout)
        self.assertIn("content-encoding: gzip", heads, direct.stdout)

        cases = {
            "/eicar.txt": EICAR,
            "/chunked/eicar.txt": EICAR,
            "/eicar.zip": b"PK\x03\x04",
            "/gz/eicar.txt": b"\x1f\x8b",
        }
        for path, forbidden in cases.items():
            with self.subTest(path=path):
                status, body = self.curl(path)
                url = f"https://{SITE}{path}"
                self.assert_block_page(status, body, url, "av", forbidden)
                e = self.icap_event(url, service="av")
                self.assertEqual((e["verdict"], e["action"], e["method"]),
                                 ("infected", "block", "respmod"), e)
                self.assertTrue(e["threat"].startswith("Lab.Eicar."), e)
                self.assertTrue(e["istag"], e)

    def test_eicar_download_over_h2_is_blocked_for_curl_and_nghttp(self):
        status, body = self.curl("/eicar.txt?curl-h2", http="2")
        url = f"https://{SITE}/eicar.txt?curl-h2"
        self.assert_block_page(status, body, url, "av", EICAR, version="2")
        self.assertEqual(self.icap_event(url)["verdict"], "infected")

        # nghttp: -H :authority sets its SNI (it has no --resolve).
        address = plan.site_address(SITE, 4)
        proc = self.lab.topology.run_in("client", [
            "nghttp", "-v", "-t", "30", "-H", f":authority: {SITE}",
            f"https://{address}/gz/eicar.txt?nghttp"], check=False, timeout=60)
        self.assertEqual(proc.returncode, 0, f"nghttp: {proc.stdout[-2000:]}\n{proc.stderr}")
        self.assertIn(":status: 403", proc.stdout)
        self.assertIn("Lab.Eicar.", proc.stdout)
        self.assertNotIn(EICAR.decode(), proc.stdout)
        e = self.icap_event(f"https://{SITE}/gz/eicar.txt?nghttp")
        self.assertEqual((e["verdict"], e["action"]), ("infected", "block"), e)

    # --- uploads -------------------------------------------------------------------

    def test_eicar_uploads_over_http1_and_h2_are_blocked_and_never_reach_nginx(self):
        infected = self.lab.dir / "upload-eicar.bin"
        infected.write_bytes(EICAR)
        clean = self.lab.dir / "upload-clean.bin"
        clean.write_bytes(b"nothing to see here\n" * 100)
        before = len(self.lab.nginx.access_lines(SITE))
        for http, version in (("1.1", "1.1"), ("2", "2")):
            with self.subTest(http=http):
                path = f"/upload?infected-h{version}"
                status, body = self.curl(path, "--data-binary", f"@{infected}", http=http)
                self.assert_block_page(status, body, f"https://{SITE}{path}", "upload-av",
                                       EICAR, version=version)
                e = self.icap_event(f"https://{SITE}{path}", service="upload-av")
                self.assertEqual((e["verdict"], e["action"], e["method"]),
                                 ("infected", "block", "reqmod"), e)
                # A clean upload on the same path goes through: what nginx
                # does not log below is the scanner's doing.
                status, body = self.curl(f"/upload?clean-h{version}", "--data-binary",
                                         f"@{clean}", http=http)
                self.assertEqual((status, body), (f"{version} 200", b"uploaded\n"))
        deadline = time.monotonic() + 5
        while len(self.lab.nginx.access_lines(SITE)) < before + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        logged = self.lab.nginx.access_lines(SITE)[before:]
        self.assertEqual(len(logged), 2, logged)
        self.assertTrue(all("/upload?clean-h" in line for line in logged), logged)

    # --- many at once --------------------------------------------------------------

    def test_200_concurrent_scans_are_right_and_stay_within_max_connections(self):
        """200 downloads at once (one TLS connection each, both workers),
        a quarter of them EICAR: each gets its own right answer, and the
        gateway never holds more than max_connections to the service, all
        workers together (tlsgatectl status, and the sockets themselves)."""
        count = 200
        for i in range(10):
            (self.files / f"many-{i}.txt").write_bytes(f"clean object {i}\n".encode() * (100 + i))
        expected = {}
        lines = []
        for i in range(count):
            path = f"/eicar.txt?many{i}" if i % 4 == 0 else f"/many-{i % 10}.txt?many{i}"
            size = None if i % 4 == 0 else len(f"clean object {i % 10}\n") * (100 + i % 10)
            expected[f"https://{SITE}{path}"] = size
            lines.append(f'url = "https://{SITE}{path}"\noutput = "/dev/null"\n')
        config = self.lab.dir / "curl-many.conf"
        config.write_text("".join(lines))
        address = bracket(plan.site_address(SITE, 4))

        most = {"status": 0, "sockets": 0}
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                av = self.ctl.json("status")["icap"][0]
                most["status"] = max(most["status"], av["connections"])
                out = self.lab.topology.run_in("router", [
                    "ss", "-Htn", "state", "established", "( dport = :1344 )"]).stdout
                most["sockets"] = max(most["sockets"], len(out.splitlines()))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        t0 = time.monotonic()
        try:
            proc = self.lab.topology.run_in("client", [
                "curl", "-sS", "--http1.1", "--parallel", "--parallel-immediate",
                "--parallel-max", str(count), "--max-time", "60", "--cacert",
                str(self.gateway.root_ca), "--resolve", f"{SITE}:443:{address}",
                "-w", r"%{url_effective} %{response_code} %{size_download}\n",
                "-K", str(config)], check=False, timeout=120)
        finally:
            took = time.monotonic() - t0
            stop.set()
            sampler.join()
        print(f"\n  {count} concurrent downloads scanned in {took:.1f} s; most connections to "
              f"the service: {most['status']} (cap {MAX_CONNECTIONS}), sockets {most['sockets']}")
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        answers = {}
        for line in proc.stdout.splitlines():
            url, code, size = line.split()
            answers[url] = (code, int(size))
        self.assertEqual(set(answers), set(expected))
        for url, size in expected.items():
            code, got = answers[url]
            if size is None:
                self.assertEqual(code, "403", url)
            else:
                self.assertEqual((code, got), ("200", size), url)
        av = self.ctl.json("status")["icap"][0]
        self.assertEqual(av["max_connections"], MAX_CONNECTIONS, av)
        self.assertLessEqual(most["status"], MAX_CONNECTIONS, most)
        # Sockets to the service: "av" and the idle OPTIONS connections of
        # "upload-av" (its own cap).
        self.assertLessEqual(most["sockets"], 2 * MAX_CONNECTIONS, most)
        self.assertGreaterEqual(most["status"], 2, "scans ran side by side")
        deadline = time.monotonic() + 5
        while (av["busy"], av["waiting"]) != (0, 0) and time.monotonic() < deadline:
            time.sleep(0.1)
            av = self.ctl.json("status")["icap"][0]
        self.assertEqual((av["busy"], av["waiting"]), (0, 0), av)
        infected = self.icap_events_matching(lambda e: "?many" in e["url"]
                                             and e["verdict"] == "infected", count // 4)
        self.assertEqual(len(infected), count // 4)

    def icap_events_matching(self, predicate, count: int) -> list[dict]:
        deadline = time.monotonic() + 10
        while True:
            found = [e for e in self.gateway.events() if e.get("type") == "icap" and predicate(e)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    # --- clean objects -------------------------------------------------------------

    def test_clean_objects_arrive_byte_exact_scanned_and_oversize(self):
        # 20 MiB: held whole, scanned, released on the 204. 100 MiB: past the
        # default max_scan_size (32 MiB), oversize = "pass" streams it.
        for name, size, verdict in (("clean-20m.bin", 20 * MIB, "clean"),
                                    ("clean-100m.bin", 100 * MIB, "oversize")):
            with self.subTest(name=name):
                data = os.urandom(size)
                (self.files / name).write_bytes(data)
                status, body = self.curl(f"/{name}")
                self.assertEqual(status, "1.1 200")
                self.assertEqual(len(body), size)
                self.assertEqual(hashlib.sha256(body).hexdigest(),
                                 hashlib.sha256(data).hexdigest(), "byte-exact")
                e = self.icap_event(f"https://{SITE}/{name}", service="av")
                self.assertEqual((e["verdict"], e["action"]), (verdict, "pass"), e)
                if verdict == "clean":
                    self.assertEqual(e["bytes"], size, e)
                (self.files / name).unlink()

    def test_scanned_1mib_h2_downloads_arrive_whole_one_by_one_and_multiplexed(self):
        # Each body is held whole, scanned, then released at once: nothing
        # more comes from the upstream to push it along, so it must go out
        # on its own (a drained client side wrote more that was never sent:
        # downloads stopped at 64-272 KiB until curl gave up).
        data = os.urandom(MIB)
        (self.files / "clean-1m.bin").write_bytes(data)
        self.addCleanup((self.files / "clean-1m.bin").unlink)
        digest = hashlib.sha256(data).hexdigest()
        DOWNLOADS = 16  # before the fix a few in a hundred stalled
        for i in range(DOWNLOADS):
            with self.subTest(download=i):
                status, body = self.curl(f"/clean-1m.bin?seq={i}", "--max-time", "10",
                                         http="2")
                self.assertEqual(status, "2 200")
                self.assertEqual(len(body), MIB)
                self.assertEqual(hashlib.sha256(body).hexdigest(), digest, "byte-exact")
        # Four streams on one connection (curl multiplexes --parallel over h2).
        address = bracket(plan.site_address(SITE, 4))
        outs = [self.lab.dir / f"multiplexed-{i}.out" for i in range(4)]
        argv = ["curl", "-sS", "--http2", "--parallel", "--max-time", "10", "--cacert",
                str(self.gateway.root_ca), "--resolve", f"{SITE}:443:{address}",
                "-w", r"%{http_version} %{response_code} %{num_connects}\n"]
        for i, out in enumerate(outs):
            argv += ["-o", str(out), f"https://{SITE}/clean-1m.bin?parallel={i}"]
        proc = self.lab.topology.run_in("client", argv, check=False, timeout=60)
        self.assertEqual(proc.returncode, 0, f"curl --parallel: {proc.stderr}")
        lines = [line.split() for line in proc.stdout.splitlines() if line.strip()]
        self.assertEqual([line[:2] for line in lines], [["2", "200"]] * 4, proc.stdout)
        self.assertEqual(sum(int(line[2]) for line in lines), 1, "one connection for all four")
        for out in outs:
            body = out.read_bytes()
            out.unlink()
            self.assertEqual(len(body), MIB, out.name)
            self.assertEqual(hashlib.sha256(body).hexdigest(), digest, out.name)
        for i in range(DOWNLOADS):
            e = self.icap_event(f"https://{SITE}/clean-1m.bin?seq={i}", service="av")
            self.assertEqual((e["verdict"], e["bytes"]), ("clean", MIB), e)


class IcapStalledServiceTest(AvLabTestCase):
    """c-icap stopped with SIGSTOP (by its recorded pid): connections are
    accepted by the kernel and never answered. files.lab.test is scanned by
    "av-block" (on_error = "block"), good.lab.test by "av-pass" (on_error =
    "pass"), both the same c-icap. One worker, so "the service is down" is
    one state to reason about (each worker keeps its own)."""

    TIMEOUT_S = 2.0

    @classmethod
    def setUpClass(cls) -> None:
        cls.bring_up_lab()
        timeout = f"{int(cls.TIMEOUT_S * 1000)}ms"
        cls.lab.gateway.icap = [
            {"name": "av-block", "url": cls.av.url, "timeout": timeout, "on_error": "block"},
            {"name": "av-pass", "url": cls.av.url, "timeout": timeout, "on_error": "pass"},
        ]
        rules = LAB_RULES + (
            {"name": "files-scanned", "action": "inspect", "sni": [SITE], "icap": ["av-block"]},
            {"name": "good-scanned", "action": "inspect", "sni": ["good.lab.test"],
             "icap": ["av-pass"]},
        )
        # ASan keeps freed memory in quarantine (256 MiB by default), which
        # would read as growth in the leak check: a small one.
        asan = os.environ.get("ASAN_OPTIONS", "")
        os.environ["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "quarantine_size_mb=8"
        try:
            cls.gateway = cls.lab.start_gateway(rules, settings={"gateway": {"workers": 1}})
        finally:
            if asan:
                os.environ["ASAN_OPTIONS"] = asan
            else:
                del os.environ["ASAN_OPTIONS"]
        cls.ctl = Ctl(cls.gateway)
        docroot = cls.lab.nginx.docroot(SITE)
        (docroot / "clean.txt").write_bytes(b"clean file\n" * 1000)
        (docroot / "clean-1m.bin").write_bytes(os.urandom(MIB))

    def setUp(self):
        self.addCleanup(self.av.resume_icap)

    def fetch(self, site: str, path: str, max_time: float = 30) -> tuple[str, str, float]:
        """(status code, body, seconds) of one GET through the gateway."""
        address = bracket(plan.site_address(site, 4))
        argv = ["curl", "-sS", "--http1.1", "--max-time", str(max_time), "--cacert",
                str(self.gateway.root_ca), "--resolve", f"{site}:443:{address}",
                "-w", r"\n%{response_code}", f"https://{site}{path}"]
        t0 = time.monotonic()
        proc = self.lab.topology.run_in("client", argv, check=False, timeout=max_time + 30)
        took = time.monotonic() - t0
        self.assertEqual(proc.returncode, 0, proc.stderr)
        body, _, code = proc.stdout.rpartition("\n")
        return code, body, took

    def events(self, **match) -> list[dict]:
        return [e for e in self.gateway.events() if e.get("type") == "icap"
                and all(e.get(k) == v for k, v in match.items())]

    def wait_up(self, timeout_s: float = 90.0) -> None:
        """Until a clean scan passes again (the service was probed back up)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code, _, _ = self.fetch(SITE, "/clean.txt")
            if code == "200" and self.ctl.json("status")["icap"][0]["up"]:
                return
            time.sleep(0.5)
        self.fail("the ICAP service did not come back")

    def test_stalled_service_times_out_then_on_error_both_ways_and_backs_off(self):
        self.wait_up()
        self.av.pause_icap()
        # on_error = "block": after the timeout, the page.
        code, body, took = self.fetch(SITE, "/clean.txt?first")
        self.assertEqual(code, "403", body)
        self.assertIn("could not be scanned", body)
        self.assertIn("av-block", body)
        self.assertGreaterEqual(took, self.TIMEOUT_S - 0.2)
        self.assertLess(took, self.TIMEOUT_S + 3)
        [e] = self.events(url=f"https://{SITE}/clean.txt?first")
        self.assertEqual((e["verdict"], e["action"]), ("error", "block"), e)
        self.assertIn("timeout", e["error"], e)
        # on_error = "pass": after the timeout, the content.
        code, body, took = self.fetch("good.lab.test", "/?first")
        self.assertEqual((code, body), ("200", "site=good.lab.test\n"))
        self.assertGreaterEqual(took, self.TIMEOUT_S - 0.2)
        [e] = self.events(url="https://good.lab.test/?first")
        self.assertEqual((e["verdict"], e["action"]), ("error", "pass"), e)

        # Down now: later requests are answered at once, not after the
        # timeout each (one probe per backoff period may still wait).
        results = [self.fetch(SITE, f"/clean.txt?later{i}") for i in range(10)]
        self.assertTrue(all(code == "403" for code, _, _ in results), results)
        quick = [took for _, _, took in results if took < self.TIMEOUT_S / 2]
        self.assertGreaterEqual(len(quick), 7, f"seconds per request: "
                                f"{[round(t, 2) for _, _, t in results]}")
        down = [e for e in self.events(service="av-block", verdict="error")
                if e["error"] == "service down"]
        self.assertGreaterEqual(len(down), 6, down)
        status = self.ctl.json("status")["icap"]
        self.assertFalse(status[0]["up"], status)
        self.assertIn("down_for_s", status[0])
        _, samples = scrape(self.gateway)
        self.assertGreaterEqual(
            samples.get('tlsgate_icap_scans_total{service="av-block",verdict="error"}', 0), 9)
        self.assertGreaterEqual(
            samples.get('tlsgate_icap_scans_total{service="av-pass",verdict="error"}', 0), 1)

        # Back: the next probe finds it and scans go on.
        self.av.resume_icap()
        self.wait_up()

    def test_clients_disconnecting_mid_scan_leak_nothing(self):
        """Clients give up while their download is held for a scan that
        cannot finish (c-icap stopped): the gateway cancels the scans, and
        its descriptors, ICAP connections, flows and memory go back to
        where they were."""
        self.wait_up()

        def measure() -> dict:
            status = self.ctl.json("status")["icap"][0]
            flows = self.ctl.json("flows")["flows"]
            rss = 0
            for line in pathlib.Path(f"/proc/{self.gateway.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
            return {"fds": len(os.listdir(f"/proc/{self.gateway.pid}/fd")), "rss": rss,
                    "icap_connections": status["connections"], "busy": status["busy"],
                    "waiting": status["waiting"], "flows": len(flows)}

        def round_of_disconnects(tag: str, clients: int = 20) -> None:
            address = bracket(plan.site_address(SITE, 4))
            config = self.lab.dir / f"curl-{tag}.conf"
            config.write_text("".join(
                f'url = "https://{SITE}/clean-1m.bin?{tag}{i}"\noutput = "/dev/null"\n'
                for i in range(clients)))
            self.av.pause_icap()
            proc = self.lab.topology.run_in("client", [
                "curl", "-sS", "--http1.1", "--parallel", "--parallel-immediate",
                "--parallel-max", str(clients), "--max-time", str(self.TIMEOUT_S / 2),
                "--cacert", str(self.gateway.root_ca), "--resolve", f"{SITE}:443:{address}",
                "-K", str(config)], check=False, timeout=60)
            self.av.resume_icap()
            self.assertNotEqual(proc.returncode, 0, "the clients were to give up mid-scan")
            self.assertIn("timed out", proc.stderr)
            self.wait_up()

        def settled(baseline: dict) -> dict:
            deadline = time.monotonic() + 15
            while True:
                now = measure()
                if ((now["busy"], now["waiting"], now["flows"]) == (0, 0, 0)
                        and now["fds"] <= baseline["fds"] + 1
                        and now["icap_connections"] <= baseline["icap_connections"] + 1) \
                        or time.monotonic() > deadline:
                    return now
                time.sleep(0.2)

        round_of_disconnects("warm")  # allocator pools, forged-leaf cache
        baseline = settled(measure())
        for r in range(3):
            round_of_disconnects(f"r{r}")
        after = settled(baseline)
        print(f"\n  3 rounds of 20 clients leaving mid-scan: fds {baseline['fds']} -> "
              f"{after['fds']}, ICAP connections {baseline['icap_connections']} -> "
              f"{after['icap_connections']}, RSS {baseline['rss'] / MIB:.1f} -> "
              f"{after['rss'] / MIB:.1f} MiB")
        self.assertEqual((after["busy"], after["waiting"], after["flows"]), (0, 0, 0), after)
        # One more ICAP connection may be open than before (and its fd).
        self.assertLessEqual(after["fds"], baseline["fds"] + 1, (baseline, after))
        self.assertLessEqual(after["icap_connections"], baseline["icap_connections"] + 1,
                             (baseline, after))
        self.assertLess(after["rss"], baseline["rss"] + 24 * MIB, (baseline, after))


if __name__ == "__main__":
    unittest.main()
