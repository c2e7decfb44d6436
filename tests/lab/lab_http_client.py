#!/usr/bin/python3
"""A hand-written HTTP client for the HTTP layer's lab tests (standard library only).

    lab_http_client.py --connect ADDR:443 --sni NAME --ca FILE [--alpn P] \
        --send HEX|file:PATH [--send ...] [--wait S]

One TLS connection (verified against FILE); each --send is written in turn
(hex, or the bytes of a file for what does not fit a command line), with a pause of --wait seconds after each, while whatever comes back
is read until the gateway or server closes or --wait passes with nothing
new after the last send. Prints one JSON line: {"received": text (latin-1),
"closed": bool (the peer ended the connection), "alpn": str|null, "error"}.
"""

import argparse
import json
import select
import socket
import ssl
import time


def parse_endpoint(text: str):
    host, _, port = text.rpartition(":")
    if host.startswith("["):
        return socket.AF_INET6, (host[1:-1], int(port))
    return socket.AF_INET, (host, int(port))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--connect", required=True)
    ap.add_argument("--sni", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--alpn")
    ap.add_argument("--send", action="append", default=[])
    ap.add_argument("--wait", type=float, default=1.0)
    args = ap.parse_args()
    out = {"received": "", "closed": False, "alpn": None, "error": None}
    received = bytearray()
    try:
        ctx = ssl.create_default_context(cafile=args.ca)
        if args.alpn:
            ctx.set_alpn_protocols([args.alpn])
        family, address = parse_endpoint(args.connect)
        raw = socket.create_connection(address, timeout=10)
        tls = ctx.wrap_socket(raw, server_hostname=args.sni)
        out["alpn"] = tls.selected_alpn_protocol()
        tls.setblocking(False)

        def read_for(seconds: float) -> bool:
            deadline = time.monotonic() + seconds
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                if tls.pending() == 0:
                    select.select([tls], [], [], left)
                try:
                    data = tls.recv(65536)
                except ssl.SSLWantReadError:
                    continue
                except (ssl.SSLError, ConnectionResetError):
                    return True
                if not data:
                    return True
                received.extend(data)
                deadline = time.monotonic() + seconds  # quiet for `seconds` ends it

        for chunk in args.send:
            tls.setblocking(True)
            try:
                if chunk.startswith("file:"):
                    with open(chunk[5:], "rb") as f:
                        tls.sendall(f.read())
                else:
                    tls.sendall(bytes.fromhex(chunk))
            except (OSError, ssl.SSLError):
                out["closed"] = True
                break
            tls.setblocking(False)
            if read_for(args.wait):
                out["closed"] = True
                break
    except (OSError, ssl.SSLError) as e:
        out["error"] = f"{type(e).__name__}: {e}"
    out["received"] = received.decode("latin-1")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
