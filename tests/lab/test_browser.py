"""A real browser through the gateway (issue 12, item 7): headless Chromium
in the client namespace loads an h2 page from an inspected site. The gateway
CA is trusted the way a user would trust it, through the NSS database of a
temporary HOME (certutil), never with --ignore-certificate-errors.

What the user sees is checked in the page Chromium rendered (--dump-dom): the
script ran and wrote the text it fetched from the same site, and the image
loaded. nginx logs every one of those requests as HTTP/2.0, and the gateway
writes an `http` event for each, all on the browser's one h2 connection."""

import os
import signal
import subprocess
import time
import unittest

import lab_sites as plan
from lab_case import LabTestCase

SITE = "good.lab.test"
PAGE = "/page/index.html"
SUBRESOURCES = ("/page/app.js", "/page/data.txt", "/page/pixel.svg")
BROWSER_TIMEOUT_S = 25


class ChromiumTest(LabTestCase):
    def setUp(self):
        super().setUp()
        self.gateway = self.lab.start_gateway()
        self.home = self.lab.dir / "browser-home"
        self.trust_gateway_ca()

    def trust_gateway_ca(self) -> None:
        """The gateway's root CA in $HOME/.pki/nssdb, where Chromium on Linux
        reads the roots a user added."""
        nssdb = self.home / ".pki" / "nssdb"
        nssdb.mkdir(parents=True)
        db = f"sql:{nssdb}"
        for argv in (["certutil", "-N", "-d", db, "--empty-password"],
                     ["certutil", "-A", "-d", db, "-n", "tlsgate lab gateway", "-t", "C,,",
                      "-i", str(self.gateway.root_ca)]):
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
            self.assertEqual(proc.returncode, 0, f"{argv}: {proc.stdout}{proc.stderr}")

    def run_chromium(self, url: str) -> str:
        """chromium --headless --dump-dom in the client namespace; returns the
        DOM. The browser's process group is ended by its recorded pid."""
        address = plan.site_address(SITE, 4)
        argv = self.lab.topology.ns_argv("client", [
            "env", f"HOME={self.home}",
            "chromium", "--headless", "--no-sandbox", "--disable-gpu",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={self.home / 'profile'}",
            f"--host-resolver-rules=MAP {SITE} {address}",
            "--dump-dom", url])
        # Chromium cancels what it is loading (net::ERR_NETWORK_CHANGED) when an
        # address of its namespace changes state: the link-local addresses the
        # kernel adds with the links are tentative for their first second or two.
        self.wait_addresses_settled("client")
        out_path = self.lab.dir / "chromium.out"
        err_path = self.lab.dir / "chromium.err"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True)
        self.addCleanup(end_group, proc)
        try:
            proc.wait(timeout=BROWSER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            end_group(proc)
            self.fail(f"chromium did not finish in {BROWSER_TIMEOUT_S}s\n"
                      f"{err_path.read_text(errors='replace')[-3000:]}\n{self.lab.diagnostics()}")
        stderr = err_path.read_text(errors="replace")
        self.assertEqual(proc.returncode, 0, f"chromium: {stderr[-3000:]}")
        dom = out_path.read_text(errors="replace")
        self.assertTrue(dom.strip(), f"chromium wrote no page\n{stderr[-4000:]}\n"
                                     f"{self.lab.diagnostics()}")
        return dom

    def wait_addresses_settled(self, role: str, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            out = self.lab.topology.run_in(role, ["ip", "-6", "addr", "show", "tentative"]).stdout
            if not out.strip():
                return
            if time.monotonic() > deadline:
                self.fail(f"{role} addresses still tentative after {timeout_s}s:\n{out}")
            time.sleep(0.1)

    def wait_events(self, paths) -> dict:
        def mine():
            return {e["path"]: e for e in self.gateway.events()
                    if e.get("type") == "http" and e.get("sni") == SITE and e.get("path") in paths}
        deadline = time.monotonic() + 10
        while len(mine()) < len(paths) and time.monotonic() < deadline:
            time.sleep(0.05)
        return mine()

    def test_an_h2_page_and_its_subresources_load_through_the_gateway(self):
        dom = self.run_chromium(f"https://{SITE}{PAGE}")
        self.assertIn("fetched 200: lab data for the browser", dom,
                      f"the page's script did not fetch its data\n{dom[-2000:]}")
        self.assertIn("image loaded", dom, f"the page's image did not load\n{dom[-2000:]}")

        paths = (PAGE,) + SUBRESOURCES
        logged = {line.split('"')[3].split()[1]: line
                  for line in self.lab.nginx.access_lines(SITE)}
        for path in paths:
            self.assertIn(path, logged, f"nginx never saw {path}: {sorted(logged)}")
            self.assertIn(" HTTP/2.0 ", logged[path], logged[path])

        events = self.wait_events(paths)
        self.assertEqual(sorted(events), sorted(paths), self.lab.diagnostics())
        for path, e in events.items():
            self.assertEqual((e["protocol"], e["method"], e.get("status"), e["outcome"]),
                             ("h2", "GET", 200, "complete"), e)
        self.assertEqual(len({e["client"] for e in events.values()}), 1,
                         f"the page came over more than one connection: {events}")


def end_group(proc: subprocess.Popen) -> None:
    """Ends what is left of the browser's process group (the group's id is
    the pid recorded when it started: renderers outlive the launcher)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            proc.poll()  # reaps the launcher
            time.sleep(0.05)
        else:
            continue
        break
    if proc.poll() is None:
        proc.wait(timeout=5)


if __name__ == "__main__":
    unittest.main()
