"""Checks of the service files, the Debian package and the Vagrantfile.

The build's binaries stand in for the installed ones where a tool insists
that a path exists (systemd-analyze verify); nothing is installed on the
machine and no VM is started.
"""

import gzip
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import unittest

SOURCE = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("TLSGATE_BUILD_DIR", SOURCE / "build"))
UNIT = SOURCE / "systemd" / "tlsgate.service"
MAN_PAGES = {"tlsgated.8": "man8", "tlsgatectl.8": "man8", "tlsgate.toml.5": "man5"}
# What `systemd-analyze security` may report at most (0 best, 10 worst). The
# unit scores 2.0: what remains is the network access and capabilities a
# gateway needs (NotifyAccess=main: the old process of a hitless restart
# names its successor with MAINPID=). A change that weakens the sandbox
# further fails here.
MAX_EXPOSURE = 2.0


def run(argv, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=240, **kwargs)


def unit_values(name: str) -> list[str]:
    values = []
    for line in UNIT.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == name:
            values.append(value.strip())
    return values


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="tlsgate-ops-"))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def man_path(self) -> pathlib.Path:
        """The man pages as `man` finds them: <dir>/man8/tlsgated.8, ..."""
        root = self.tmp / "man"
        for page, section in MAN_PAGES.items():
            (root / section).mkdir(parents=True, exist_ok=True)
            shutil.copy(SOURCE / "man" / page, root / section / page)
        return root


class UnitFileTest(TempDirTest):
    def test_systemd_analyze_verify(self):
        tlsgated = os.environ["TLSGATED"]
        unit_dir = self.tmp / "units"
        unit_dir.mkdir()
        text = UNIT.read_text()
        self.assertIn("/usr/sbin/tlsgated", text)
        (unit_dir / UNIT.name).write_text(text.replace("/usr/sbin/tlsgated", tlsgated))
        env = {**os.environ, "MANPATH": str(self.man_path()), "SYSTEMD_LOG_COLOR": "0"}
        proc = run(["systemd-analyze", "verify", str(unit_dir / UNIT.name)], env=env)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout + proc.stderr, "", "systemd-analyze verify complained")

    def test_security_exposure(self):
        proc = run(["systemd-analyze", "security", "--offline=yes", "--no-pager", str(UNIT)],
                   env={**os.environ, "SYSTEMD_COLORS": "0"})
        output = proc.stdout + proc.stderr
        m = re.search(r"Overall exposure level for tlsgate\.service: (\d+\.\d+)", output)
        self.assertIsNotNone(m, output)
        print(f"systemd-analyze security exposure: {m.group(1)}")
        self.assertLessEqual(float(m.group(1)), MAX_EXPOSURE, output)
        for ok in ("User=/DynamicUser=", "NoNewPrivileges=", "ProtectSystem=",
                   "CapabilityBoundingSet=~CAP_SYS_ADMIN", "SystemCallFilter=~@mount",
                   "RestrictNamespaces=~net", "MemoryDenyWriteExecute="):
            self.assertRegex(output, r"✓ " + re.escape(ok), ok)

    def test_service_settings_match_the_daemon(self):
        self.assertEqual(unit_values("Type"), ["notify"])
        self.assertEqual(unit_values("Restart"), ["on-failure"])
        self.assertEqual(unit_values("ExecReload"), ["/bin/kill -HUP $MAINPID"])
        # Only the main process notifies; the old one of a hitless restart
        # hands that role on with MAINPID=.
        self.assertEqual(unit_values("NotifyAccess"), ["main"])
        self.assertEqual(unit_values("User"), ["tlsgate"])
        for key in ("WatchdogSec", "StateDirectory", "ConfigurationDirectory",
                    "RuntimeDirectory", "LogsDirectory"):
            self.assertEqual(len(unit_values(key)), 1, key)
        # The daemon's defaults live in the directories the unit creates.
        proc = run([os.environ["TLSGATED"], "--check-config", "--config",
                    str(SOURCE / "systemd" / "tlsgate.toml.example")])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        example = (SOURCE / "systemd" / "tlsgate.toml.example").read_text()
        for key, directory in (("state_dir", "/var/lib/tlsgate"),
                               ("event_log", "/var/log/tlsgate/"),
                               ("control_socket", "/run/tlsgate/")):
            self.assertRegex(example, rf'\n{key} = "{re.escape(directory)}', key)
        caps = unit_values("AmbientCapabilities")[0].split()
        self.assertEqual(caps, unit_values("CapabilityBoundingSet")[0].split())
        self.assertNotIn("CAP_SYS_ADMIN", caps)


class SysusersTmpfilesTest(TempDirTest):
    def test_user_and_config_directory(self):
        root = self.tmp / "root"
        (root / "etc").mkdir(parents=True)
        proc = run(["systemd-sysusers", f"--root={root}", str(SOURCE / "systemd" /
                                                              "tlsgate.sysusers")])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        passwd = {line.split(":")[0]: line.split(":") for line in
                  (root / "etc" / "passwd").read_text().splitlines()}
        groups = {line.split(":")[0]: line.split(":") for line in
                  (root / "etc" / "group").read_text().splitlines()}
        self.assertIn("tlsgate", passwd)
        self.assertIn("tlsgate", groups)
        self.assertNotEqual(passwd["tlsgate"][2], "0")
        self.assertEqual(passwd["tlsgate"][6], "/usr/sbin/nologin")

        proc = run(["systemd-tmpfiles", f"--root={root}", "--create",
                    str(SOURCE / "systemd" / "tlsgate.tmpfiles")])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        st = (root / "etc" / "tlsgate").stat()
        self.assertEqual(st.st_mode & 0o7777, 0o770)
        self.assertEqual(st.st_uid, 0)
        self.assertEqual(st.st_gid, int(groups["tlsgate"][2]))


class PackageTest(TempDirTest):
    def test_contents(self):
        proc = run(["cpack", "-G", "DEB", "-B", str(self.tmp / "out")], cwd=BUILD)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        debs = list((self.tmp / "out").glob("tlsgate_*.deb"))
        self.assertEqual(len(debs), 1, proc.stdout)
        listing = run(["dpkg-deb", "-c", str(debs[0])]).stdout
        files = {line.split()[-1].removeprefix(".") for line in listing.splitlines()
                 if not line.startswith("d")}
        print("package contents:\n  " + "\n  ".join(sorted(files)))
        self.assertEqual(files, {
            "/usr/sbin/tlsgated",
            "/usr/bin/tlsgatectl",
            "/usr/lib/systemd/system/tlsgate.service",
            "/usr/lib/sysusers.d/tlsgate.conf",
            "/usr/lib/tmpfiles.d/tlsgate.conf",
            "/usr/share/doc/tlsgate/examples/tlsgate.toml.example",
            "/usr/share/man/man8/tlsgated.8.gz",
            "/usr/share/man/man8/tlsgatectl.8.gz",
            "/usr/share/man/man5/tlsgate.toml.5.gz",
            "/etc/logrotate.d/tlsgate",
        })

        tree = self.tmp / "tree"
        self.assertEqual(run(["dpkg-deb", "-x", str(debs[0]), str(tree)]).returncode, 0)
        # Never a key: no key file, no PEM private key in any file.
        for path in tree.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                if path.suffix == ".gz":
                    data = gzip.decompress(data)
                self.assertNotIn(b"PRIVATE KEY-----", data, path)
                self.assertFalse(path.name.endswith((".key", ".pem")), path)
        self.assertEqual((tree / "usr/lib/systemd/system/tlsgate.service").read_text(),
                         UNIT.read_text())
        for name in ("tlsgated", "tlsgatectl"):
            binary = tree / ("usr/sbin" if name == "tlsgated" else "usr/bin") / name
            self.assertTrue(os.access(binary, os.X_OK), binary)
            version = run([str(binary), "--version"])
            self.assertEqual(version.stdout.strip(), f"{name} {self.project_version()}",
                             version.stderr)

        control = run(["dpkg-deb", "-f", str(debs[0]), "Package", "Depends"]).stdout
        self.assertIn("Package: tlsgate", control)
        for dependency in ("systemd", "iptables", "libssl3", "libbpf1", "liburing2"):
            self.assertIn(dependency, control)
        scripts = self.tmp / "control"
        run(["dpkg-deb", "-e", str(debs[0]), str(scripts)])
        # An administrator's edits to the logrotate file survive upgrades.
        self.assertIn("/etc/logrotate.d/tlsgate", (scripts / "conffiles").read_text().split())
        postinst = (scripts / "postinst").read_text()
        self.assertIn("systemd-sysusers /usr/lib/sysusers.d/tlsgate.conf", postinst)
        self.assertIn("systemd-tmpfiles --create /usr/lib/tmpfiles.d/tlsgate.conf", postinst)
        for script in ("postinst", "prerm", "postrm"):
            self.assertEqual(run(["sh", "-n", str(scripts / script)]).returncode, 0, script)
            self.assertTrue(os.access(scripts / script, os.X_OK), script)

    @staticmethod
    def project_version() -> str:
        m = re.search(r"project\(tlsgate VERSION (\S+)", (SOURCE / "CMakeLists.txt").read_text())
        return m.group(1)


class LogrotateTest(TempDirTest):
    def test_shipped_file_rotates_the_event_log(self):
        shipped = (SOURCE / "systemd" / "tlsgate.logrotate").read_text()
        example = (SOURCE / "systemd" / "tlsgate.toml.example").read_text()
        log_path = re.search(r'\nevent_log = "([^"]+)"', example).group(1)
        self.assertIn(log_path + " {", shipped, "not the example's event log")
        # The same file, pointed at a scratch log owned by root.
        log = self.tmp / "events.jsonl"
        log.write_text('{"type":"flow"}\n' * 3)
        conf = self.tmp / "tlsgate.logrotate"
        conf.write_text(shipped.replace(log_path, str(log))
                        .replace("tlsgate tlsgate", "root root")
                        .replace("systemctl reload tlsgate.service", "touch " + str(self.tmp / "reloaded")))
        proc = run(["logrotate", "--force", "--state", str(self.tmp / "state"), str(conf)])
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(log.stat().st_size, 0, "no fresh log created")
        self.assertEqual(log.stat().st_mode & 0o777, 0o640)
        self.assertEqual((self.tmp / "events.jsonl.1").read_text().count("flow"), 3)
        self.assertTrue((self.tmp / "reloaded").exists(), "postrotate did not reload the daemon")


class ManPageTest(TempDirTest):
    def test_pages_render_without_warnings(self):
        for page in MAN_PAGES:
            with self.subTest(page=page):
                proc = run(["man", "--warnings", "-l", str(SOURCE / "man" / page)],
                           env={**os.environ, "MANWIDTH": "80", "LC_ALL": "C.UTF-8"})
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertEqual(proc.stderr, "", page)
                self.assertIn("NAME", proc.stdout)


class VagrantTest(TempDirTest):
    def test_vagrant_validate(self):
        env = {**os.environ, "VAGRANT_HOME": str(self.tmp / "home"),
               "VAGRANT_DOTFILE_PATH": str(self.tmp / "dot"), "VAGRANT_CHECKPOINT_DISABLE": "1"}
        # No provider runs on this machine; --ignore-provider checks the rest.
        proc = run(["vagrant", "validate", "--ignore-provider"], cwd=SOURCE / "vagrant", env=env)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("Vagrantfile validated successfully", proc.stdout)
        for role in ("server", "router", "client"):
            script = SOURCE / "vagrant" / "provision" / f"{role}.sh"
            self.assertEqual(run(["bash", "-n", str(script)]).returncode, 0, script)
        proc = run(["python3", "-m", "py_compile",
                    str(SOURCE / "vagrant" / "provision" / "lab_vm.py")],
                   env={**os.environ, "PYTHONPYCACHEPREFIX": str(self.tmp / "pyc")})
        self.assertEqual(proc.returncode, 0, proc.stderr)


def shell_code(path: pathlib.Path) -> str:
    """A shell script without its comments (messages and code stay)."""
    lines = []
    for line in path.read_text().splitlines():
        stripped = line.lstrip()
        if not stripped.startswith("#"):
            lines.append(line)
    return "\n".join(lines)


class NewcomerTest(unittest.TestCase):
    """What someone meets first on a minimal Debian 12, working as root."""

    def readme_commands(self) -> list[str]:
        text = (SOURCE / "README.md").read_text()
        block = re.search(r"```sh\n(.*?)```", text, re.S)
        self.assertIsNotNone(block, "README.md has no first sh block")
        return [line.split("#")[0].strip() for line in block.group(1).splitlines()
                if line.split("#")[0].strip()]

    def test_readme_commands_work_without_sudo(self):
        commands = self.readme_commands()
        self.assertGreaterEqual(len(commands), 2)
        for command in commands:
            with self.subTest(command=command):
                self.assertNotRegex(command, r"\bsudo\b")
                script = SOURCE / command.split()[0]
                self.assertTrue(os.access(script, os.X_OK), f"{script} is not executable")
        # A minimal Debian 12 has no sudo: no script the commands reach may call it.
        scripts = [*(SOURCE / "scripts").glob("*.sh"), *(SOURCE / "bench").glob("*.sh")]
        self.assertTrue(scripts)
        for script in scripts:
            with self.subTest(script=script.name):
                self.assertNotRegex(shell_code(script), r"\bsudo\b")

    def test_quick_bench_keeps_the_full_results(self):
        import sys
        sys.path.insert(0, str(SOURCE / "bench"))
        sys.path.insert(0, str(SOURCE / "tests" / "lab"))
        try:
            import bench
        finally:
            del sys.path[:2]
        full = bench.parse_args(["--build", "b"]).out
        quick = bench.parse_args(["--build", "b", "--quick"]).out
        self.assertEqual(full, SOURCE / "bench" / "RESULTS.md")
        self.assertEqual(quick, SOURCE / "bench" / "RESULTS-quick.md")
        chosen = bench.parse_args(["--build", "b", "--quick", "--out", "x.md"]).out
        self.assertEqual(chosen, pathlib.Path("x.md"))

    def test_battery_named_by_relative_path(self):
        absolute = re.compile(r"(?<![.\w])/[\w./-]*SECURITY-BATTERY\.md")
        for path in [SOURCE / "tests" / "lab" / "BATTERY.md", *(SOURCE / "tests" / "lab").glob("*.py"),
                     SOURCE / "tests" / "lab" / "README.md", SOURCE / "README.md"]:
            with self.subTest(path=path.name):
                self.assertIsNone(absolute.search(path.read_text()))
        self.assertIn("../shared/SECURITY-BATTERY.md",
                      (SOURCE / "tests" / "lab" / "BATTERY.md").read_text())


if __name__ == "__main__":
    unittest.main()
