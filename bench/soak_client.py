#!/usr/bin/python3
"""The soak's steady traffic (run in the client namespace; standard library
only): `--rate` new flows per second, alternating an inspected and a
bypassed HTTPS GET, each over its own TLS connection, until `--seconds`
pass. Every 10 s one JSON line: {"t", "ok", "failed"} (cumulative)."""

import argparse
import json
import socket
import ssl
import threading
import time


def get(host, address, ctx) -> bool:
    try:
        with socket.create_connection((address, 443), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as c:
                c.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
                body = b""
                while chunk := c.recv(65536):
                    body += chunk
                return body.startswith(b"HTTP/1.1 200")
    except (OSError, ssl.SSLError):
        return False


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--inspected", required=True, help="NAME=ADDRESS")
    p.add_argument("--bypassed", required=True, help="NAME=ADDRESS")
    p.add_argument("--ca", required=True, help="bundle: lab roots + gateway root")
    p.add_argument("--rate", type=float, default=10.0)
    p.add_argument("--seconds", type=float, required=True)
    args = p.parse_args()
    ctx = ssl.create_default_context(cafile=args.ca)
    targets = [tuple(args.inspected.split("=")), tuple(args.bypassed.split("="))]
    counts = {"ok": 0, "failed": 0}
    lock = threading.Lock()

    def one(host, address):
        ok = get(host, address, ctx)
        with lock:
            counts["ok" if ok else "failed"] += 1

    start = time.monotonic()
    next_report = start + 10
    i = 0
    while time.monotonic() - start < args.seconds:
        due = start + i / args.rate
        time.sleep(max(0.0, due - time.monotonic()))
        host, address = targets[i % 2]
        threading.Thread(target=one, args=(host, address), daemon=True).start()
        i += 1
        if time.monotonic() >= next_report:
            next_report += 10
            with lock:
                print(json.dumps({"t": round(time.monotonic() - start), **counts}), flush=True)
    time.sleep(12)  # the last flows finish
    with lock:
        print(json.dumps({"t": round(time.monotonic() - start), **counts}), flush=True)


if __name__ == "__main__":
    main()
