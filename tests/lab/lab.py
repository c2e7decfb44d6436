#!/usr/bin/python3
"""One lab instance (namespaces, PKI, nginx, optionally tlsgated) and its CLI.

    lab.py up <id> <dir> [--gateway] [--battery] [--hold]
                                                bring a lab up (dir: absent or empty;
                                                --battery: every battery site too)
    lab.py down <id> <dir>                      tear it down (kills recorded pids,
                                                deletes namespaces, pin dir and <dir>)
    lab.py exec <id> <client|router|server> -- CMD...
    lab.py events <dir>                         the gateway's events, one short line each

In Python: `with Lab(lab_id) as lab: ...` - teardown runs on every exit path.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import signal
import sys
import tempfile

import lab_sites as plan
from lab_av import AvService
from lab_gateway import LAB_RULES, Gateway, gateway_binaries
from lab_netns import Topology, end_pids, pid_alive, process_start_time
from lab_nginx import Nginx
from lab_pki import LabPki
from lab_upstreams import SpecialUpstreams


class LabInterrupted(BaseException):
    """SIGTERM/SIGHUP turned into an exception, so teardown code runs."""


# Set by run_lab_test.py once the run was interrupted (deadline, signal):
# tests that share a lab check it to end quickly instead of probing on.
INTERRUPTED = False


def teardown_on_signals() -> None:
    def interrupted(signum, _frame):
        raise LabInterrupted(f"signal {signal.Signals(signum).name}")
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)


class Lab:
    def __init__(self, lab_id: str, directory: pathlib.Path | None = None, sites=None):
        """`sites`: the rows of lab_sites.SITES to bring up (default: the core
        rows); the rows they depend on (the CRL server) are added."""
        self.topology = Topology(lab_id)
        self.lab_id = lab_id
        self.sites = plan.with_dependencies(plan.core_sites() if sites is None else sites)
        if directory is None:
            self.dir = pathlib.Path(tempfile.mkdtemp(prefix=f"tlsgate-lab-{lab_id}-"))
        else:
            self.dir = pathlib.Path(directory).resolve()
            if self.dir.exists() and any(self.dir.iterdir()):
                raise RuntimeError(f"{self.dir} is not empty (the lab owns and deletes its dir)")
            self.dir.mkdir(parents=True, exist_ok=True)
        self.pki = LabPki(self.dir / "pki", lab_id)
        self.nginx = Nginx(self.topology, self.dir / "nginx", self.pki)
        self.upstreams = SpecialUpstreams(self.topology, self.dir / "upstreams", self.pki)
        self.gateway = Gateway(self.topology, self.dir / "gateway", self.pki.trust_bundle)
        self.av: AvService | None = None
        self.state_file = self.dir / "lab.json"

    # --- life cycle ----------------------------------------------------------------

    def up(self) -> "Lab":
        taken = self.topology.existing_namespaces()
        if taken:  # someone else's lab: leave it alone, clean only our own dir
            remove_dir(self.dir)
            raise RuntimeError(f"lab id {self.lab_id} in use: {taken} exist "
                               f"(tear down with: lab.py down {self.lab_id} <dir>)")
        try:
            self.topology.create(self.sites)
            self.pki.generate(self.sites)
            self.nginx.dir.mkdir(parents=True, exist_ok=True)
            self.nginx.start(self.sites)
            self._save_state()
            self.upstreams.start(self.sites)
            self._save_state()
        except BaseException:
            self.down(raise_on_problems=False)
            raise
        return self

    def start_gateway(self, rules=LAB_RULES, settings=None, threat_lists=()) -> Gateway:
        """Starts tlsgated in the router namespace and exports its root CA.
        `settings`: extra config keys per section (Gateway.settings);
        `threat_lists`: [[threat_list]] tables (Gateway.threat_lists)."""
        tlsgated, tlsgatectl = gateway_binaries()
        self.gateway.rules = rules
        self.gateway.settings = settings or {}
        self.gateway.threat_lists = list(threat_lists)
        try:
            self.gateway.start(tlsgated, tlsgatectl)
        finally:
            self._save_state()  # the pid is recorded even when start failed
        return self.gateway

    def start_av(self) -> AvService:
        """clamd + c-icap's virus_scan in the router namespace (lab_av.py),
        and the gateway configured to scan downloads ("av", RESPMOD) and
        uploads ("upload-av", REQMOD) with it: call before start_gateway()."""
        self.av = AvService(self.topology, self.dir / "av")
        try:
            self.av.start()
        finally:
            self._save_state()
        self.gateway.icap = [
            {"name": "av", "url": self.av.url, "method": "respmod", "timeout": "10s"},
            {"name": "upload-av", "url": self.av.url, "method": "reqmod", "timeout": "10s"},
        ]
        return self.av

    def restart_gateway(self, settings=None, rules=None) -> int | None:
        """SIGTERM tlsgated (returns its exit status, None: killed), then start it
        again with the same state dir, optionally with other settings/rules."""
        status = self.gateway.terminate()
        if settings is not None:
            self.gateway.settings = settings
        if rules is not None:
            self.gateway.rules = rules
        tlsgated, tlsgatectl = gateway_binaries()
        try:
            self.gateway.start(tlsgated, tlsgatectl)
        finally:
            self._save_state()
        return status

    def __enter__(self) -> "Lab":
        return self.up()

    def __exit__(self, exc_type, exc, tb) -> None:
        self.down(raise_on_problems=exc_type is None)

    def down(self, raise_on_problems: bool = True) -> list[str]:
        problems = []
        problems += self.gateway.stop_for_teardown()
        problems += self.upstreams.stop()
        if self.av is not None:
            problems += self.av.stop()
        if self.nginx.process is not None:
            problems += [f"nginx pid {p} survived SIGKILL" for p in end_pids([self.nginx.pid])]
            self.nginx.process.wait(timeout=5)
        problems += self.topology.destroy()
        problems += self.gateway.remove_pin_dir()
        problems += remove_dir(self.dir)
        problems += leftovers(self.topology, self.gateway.pin_dir, self.dir,
                              [self.nginx.pid, self.gateway.pid,
                               *self.upstreams.pids.values(), *self._av_pids().values()])
        if problems:
            message = f"lab {self.lab_id} teardown: " + "; ".join(problems)
            if raise_on_problems:
                raise RuntimeError(message)
            print(message, file=sys.stderr)
        return problems

    # --- things tests and the CLI need ----------------------------------------------

    def client_bundle(self) -> pathlib.Path:
        """Lab roots + gateway root: a client that trusts both."""
        bundle = self.dir / "client-bundle.pem"
        text = self.pki.trust_bundle.read_text()
        if self.gateway.root_ca.exists():
            text += self.gateway.root_ca.read_text()
        bundle.write_text(text)
        return bundle

    def diagnostics(self) -> str:
        return (self.gateway.diagnostics() + "\n--- nginx error.log (tail)\n"
                + self.nginx.startup_output()[-1500:]
                + ("\n" + self.upstreams.output_tail() if self.upstreams.processes else ""))

    def _av_pids(self) -> dict[str, int]:
        if self.av is None:
            return {}
        return {name: proc.pid for name, proc in (("c-icap", self.av.icap),
                                                  ("clamd", self.av.clamd)) if proc is not None}

    def _save_state(self) -> None:
        processes = {}
        for name, pid in (("nginx", self.nginx.pid), ("tlsgated", self.gateway.pid),
                          *self.upstreams.pids.items(), *self._av_pids().items()):
            if pid is not None:
                processes[name] = {"pid": pid, "start": process_start_time(pid)}
        self.state_file.write_text(json.dumps(
            {"lab_id": self.lab_id, "dir": str(self.dir), "processes": processes,
             "pin_dir": str(self.gateway.pin_dir)}, indent=1))

    def write_shell_env(self) -> pathlib.Path:
        n = self.topology.ns
        env = {
            "LAB_ID": self.lab_id, "LAB_DIR": str(self.dir),
            "LAB_CLIENT_NS": n["client"], "LAB_ROUTER_NS": n["router"],
            "LAB_SERVER_NS": n["server"], "LAB_ROOT_CA": str(self.pki.trust_bundle),
            "LAB_INTERMEDIATE_CN": "Lab Test Intermediate CA",
            "LAB_GATEWAY_ROOT_CA": str(self.gateway.root_ca),
            "LAB_EVENT_LOG": str(self.gateway.event_log),
            "LAB_CLIENT_BUNDLE": str(self.client_bundle()),
        }
        for s in self.sites:
            key = s.slug.upper().replace("-", "_")
            env[f"SITE_{key}_V4"] = plan.site_v4(s.name)
            env[f"SITE_{key}_V6"] = plan.site_v6(s.name)
            env[f"SITE_{key}_ACCESS_LOG"] = str(self.nginx.access_log(s.name))
            if s.upstream.docroot:
                env[f"SITE_{key}_DOCROOT"] = str(self.nginx.docroot(s.name))
        path = self.dir / "lab.env"
        path.write_text("".join(f"{k}={json.dumps(v)}\n" for k, v in env.items()))
        return path


def remove_dir(directory: pathlib.Path) -> list[str]:
    if os.environ.get("TLSGATE_LAB_KEEP_DIR"):
        print(f"lab: keeping {directory} (TLSGATE_LAB_KEEP_DIR)", file=sys.stderr)
        return []
    try:
        shutil.rmtree(directory, ignore_errors=False)
    except FileNotFoundError:
        pass
    except OSError as e:
        return [f"removing {directory}: {e}"]
    return []


def leftovers(topology: Topology, pin_dir: pathlib.Path, directory: pathlib.Path,
              pids) -> list[str]:
    """What a teardown left behind; empty when it was complete."""
    found = [f"namespace {n} still exists" for n in topology.existing_namespaces()]
    found += [f"pid {p} still running" for p in pids if p is not None and pid_alive(p)]
    if pin_dir.exists():
        found.append(f"pin dir {pin_dir} still exists")
    if directory.exists() and not os.environ.get("TLSGATE_LAB_KEEP_DIR"):
        found.append(f"{directory} still exists")
    return found


def down_from_state(lab_id: str, directory: pathlib.Path) -> list[str]:
    """Teardown by another process than the one that brought the lab up."""
    topology = Topology(lab_id)
    directory = directory.resolve()
    state_file = directory / "lab.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    if state and state.get("lab_id") != lab_id:
        return [f"{state_file} belongs to lab {state.get('lab_id')}, not {lab_id}"]
    problems, pids = [], []
    # Gateway first: it removes its own kernel side on SIGTERM.
    recorded = state.get("processes", {})
    for name in ["tlsgated", "nginx", *sorted(set(recorded) - {"tlsgated", "nginx"})]:
        record = recorded.get(name)
        if record and process_start_time(record["pid"]) == record["start"]:
            pids.append(record["pid"])
            problems += [f"{name} pid {p} survived SIGKILL" for p in end_pids([record["pid"]], 10)]
    problems += topology.destroy()
    gateway = Gateway(topology, directory / "gateway", directory / "pki" / "root.pem")
    problems += gateway.remove_pin_dir()
    if directory.exists():
        problems += remove_dir(directory)
    return problems + leftovers(topology, gateway.pin_dir, directory, pids)


def format_event(e: dict) -> str:
    """One compact line per event, for people."""
    kind = e.get("type", "?")
    if kind == "flow":
        text = (f"flow  {e.get('action', '?'):<7} sni={e.get('sni')} rule={e.get('rule')} "
                f"reason={e.get('reason')} {e.get('client')} -> {e.get('server')}")
    elif kind == "tls":
        text = (f"tls   {e.get('action', '?'):<7} sni={e.get('sni')} class={e.get('class')} "
                f"subject={e.get('subject')} issuer={e.get('issuer')} "
                f"sha256={str(e.get('fingerprint_sha256', ''))[:16]}...")
    else:
        text = f"{kind:<5} " + json.dumps({k: v for k, v in e.items() if k not in ("ts", "type")})
    return f"{e.get('ts', '')} {text}".strip()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up")
    p_up.add_argument("lab_id")
    p_up.add_argument("dir", type=pathlib.Path)
    p_up.add_argument("--gateway", action="store_true",
                      help="also start tlsgated (binaries from $TLSGATED, $TLSGATECTL)")
    p_up.add_argument("--av", action="store_true",
                      help="also files.lab.test and clamd + c-icap, scanning through [[icap]]")
    p_up.add_argument("--battery", action="store_true",
                      help="bring up every row of the site table (the security battery)")
    p_up.add_argument("--hold", action="store_true",
                      help="stay in the foreground; tear down on Ctrl-C or SIGTERM")
    p_down = sub.add_parser("down")
    p_down.add_argument("lab_id")
    p_down.add_argument("dir", type=pathlib.Path)
    p_exec = sub.add_parser("exec")
    p_exec.add_argument("lab_id")
    p_exec.add_argument("role", choices=("client", "router", "server"))
    p_exec.add_argument("cmd", nargs=argparse.REMAINDER)
    p_events = sub.add_parser("events")
    p_events.add_argument("dir", type=pathlib.Path)
    args = parser.parse_args(argv)

    if args.command == "events":
        path = args.dir / "gateway" / "events.jsonl"
        for line in path.read_text().splitlines() if path.exists() else []:
            try:
                print(format_event(json.loads(line)))
            except json.JSONDecodeError:
                print(line)
        return 0
    if args.command == "exec":
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        topology = Topology(args.lab_id)
        os.execvp("nsenter", topology.ns_argv(args.role, cmd))
    if os.geteuid() != 0:
        print("lab: must run as root (network namespaces)", file=sys.stderr)
        return 77
    teardown_on_signals()
    if args.command == "down":
        problems = down_from_state(args.lab_id, args.dir)
        for p in problems:
            print(f"lab down: {p}", file=sys.stderr)
        return 1 if problems else 0

    sites = plan.SITES if args.battery else None
    if args.av and not args.battery:
        sites = plan.core_sites() + plan.AV_SITES
    lab = Lab(args.lab_id, args.dir, sites)
    lab.up()  # tears itself down on failure
    try:
        if args.av:
            lab.start_av()
        if args.gateway:
            lab.start_gateway()
        env = lab.write_shell_env()
    except BaseException:
        lab.down(raise_on_problems=False)
        raise
    print(f"lab {args.lab_id} up: namespaces {', '.join(lab.topology.ns.values())}; "
          f"shell variables in {env}")
    for s in lab.sites:
        print(f"  {s.name:<34} {plan.site_v4(s.name):<14} {plan.site_v6(s.name):<20} "
              f"{s.expectation}")
    if not args.hold:
        return 0
    try:
        print("lab: holding; Ctrl-C or SIGTERM tears down", flush=True)
        signal.pause()
    except (KeyboardInterrupt, LabInterrupted):
        pass
    finally:
        lab.down()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, LabInterrupted) as interruption:
        # Whatever was up has been torn down by then (Lab.up / the CLI's handlers).
        print(f"lab: interrupted ({interruption or 'SIGINT'})", file=sys.stderr)
        sys.exit(130)
