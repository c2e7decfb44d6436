"""Time to the first response byte of new TLS connections, as a client with
Nagle's algorithm on sees it (the default of Python's `ssl`, Java, .NET,
`openssl s_client`): run inside the client namespace, prints one JSON object.

Each sample is one new connection: full handshake, then the request written
at once and the clock running from that write to the first byte of the
response. A server (or gateway) that leaves the client's last handshake
flight unacknowledged makes a Nagle client hold the request until the
server's delayed ACK fires (~40 ms on Linux): that is what this measures.

  lab_first_byte.py --address A --name N --cafile F --tls 1.3 --alpn http/1.1
                    --client python|s_client [--count 7] [--nodelay: python only]
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import ssl
import subprocess
import sys
import time

# The h2 client preface, an empty SETTINGS frame and a GET / on stream 1
# (HPACK: static :method GET, :scheme https, :path /, literal :authority).
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def h2_request(host: str) -> bytes:
    block = b"\x82\x87\x84\x41" + bytes([len(host)]) + host.encode()
    header = len(block).to_bytes(3, "big") + b"\x01\x05" + (1).to_bytes(4, "big")  # END_STREAM|END_HEADERS
    return H2_PREFACE + H2_SETTINGS + header + block


def request_bytes(host: str, alpn: str) -> bytes:
    if alpn == "h2":
        return h2_request(host)
    return f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()


def python_sample(args) -> float:
    context = ssl.create_default_context(cafile=args.cafile)
    context.minimum_version = context.maximum_version = (
        ssl.TLSVersion.TLSv1_3 if args.tls == "1.3" else ssl.TLSVersion.TLSv1_2)
    context.set_alpn_protocols([args.alpn])
    family = socket.AF_INET6 if ":" in args.address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as raw:  # Nagle on: the default
        if args.nodelay:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        raw.settimeout(10)
        raw.connect((args.address, 443))
        with context.wrap_socket(raw, server_hostname=args.name) as tls:
            if tls.selected_alpn_protocol() != args.alpn:
                raise RuntimeError(f"ALPN {tls.selected_alpn_protocol()!r}, wanted {args.alpn}")
            request = request_bytes(args.name, args.alpn)
            start = time.perf_counter()
            tls.sendall(request)
            if args.alpn == "h2":
                first_h2_response_frame(tls)
            elif not tls.recv(1):
                raise RuntimeError("connection closed before any response byte")
            return (time.perf_counter() - start) * 1000.0


def read_exactly(tls, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = tls.recv(n - len(data))
        if not chunk:
            raise RuntimeError("connection closed before the response")
        data += chunk
    return data


def first_h2_response_frame(tls) -> None:
    """Reads frames until the first one on stream 1 (the response HEADERS):
    an h2 server sends its SETTINGS without waiting for the request."""
    while True:
        header = read_exactly(tls, 9)
        length = int.from_bytes(header[:3], "big")
        stream = int.from_bytes(header[5:9], "big") & 0x7FFFFFFF
        if stream == 1:
            return
        if length:
            read_exactly(tls, length)


def s_client_sample(args) -> float:
    """`openssl s_client` prints its session summary (ending with "Verify
    return code") once the handshake is done; the request goes in then.
    HTTP/1.1 only."""
    argv = ["openssl", "s_client", "-connect", f"{args.address}:443", "-servername", args.name,
            "-CAfile", args.cafile, "-verify_return_error", "-ign_eof",
            "-tls1_3" if args.tls == "1.3" else "-tls1_2", "-alpn", args.alpn]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        seen = b""
        start = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError(f"s_client ended: {seen[-400:]!r}")
            now = time.perf_counter()
            if start is None:
                seen += chunk
                if b"Verify return code" in seen and seen.rstrip().endswith(b"---"):
                    if b"Verify return code: 0 (ok)" not in seen:
                        raise RuntimeError(f"verification failed: {seen[-400:]!r}")
                    start = time.perf_counter()
                    proc.stdin.write(request_bytes(args.name, args.alpn))
                    proc.stdin.flush()
                    seen = b""
                continue
            seen += chunk
            marker = b"HTTP/1.1 "
            if marker in seen:
                return (now - start) * 1000.0
        raise RuntimeError(f"no response within 10 s: {seen[-400:]!r}")
    finally:
        proc.kill()
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--tls", choices=("1.2", "1.3"), required=True)
    parser.add_argument("--alpn", choices=("http/1.1", "h2"), default="http/1.1")
    parser.add_argument("--client", choices=("python", "s_client"), default="python")
    parser.add_argument("--count", type=int, default=7)
    parser.add_argument("--nodelay", action="store_true")
    args = parser.parse_args()
    if args.client == "s_client" and args.alpn != "http/1.1":
        parser.error("the s_client probe speaks HTTP/1.1 only")
    sample = python_sample if args.client == "python" else s_client_sample
    samples = [sample(args) for _ in range(args.count)]
    json.dump({"samples_ms": samples}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
