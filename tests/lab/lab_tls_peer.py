#!/usr/bin/python3
"""Endpoints for the kernel-side lab tests (standard library only).

    lab_tls_peer.py client --connect ADDR:PORT --sni NAME --ca FILE
        [--local-port N] [--hold] [--upload BYTES] [--download BYTES]
        [--download-seconds S]
    lab_tls_peer.py server --cert CHAIN --key KEY --listen ADDR:PORT [...]
    lab_tls_peer.py udp-echo --listen ADDR:PORT [...] --record FILE
    lab_tls_peer.py udp-send --connect ADDR:PORT

client: one TLS connection (SNI NAME, verified against FILE), then either an
        HTTP/1.1 GET / (default) or the transfer protocol below; prints one
        JSON line: {"ok", "issuer_cn", "body" | "upload_ok"/"download_ok",
        "local_port", "error"}. --hold prints {"ready": true, ...} after the
        handshake and request, then waits for a line on stdin before closing.
server: the transfer protocol, commands in turn on one connection:
        b"U" + 8-byte length N, then N bytes  -> answers sha256 of them;
        b"D" + 8-byte length N + 8-byte seed  -> sends N bytes of stream(seed).
        A connection that ends before a command (the gateway's probe) is fine.
udp-echo: echoes every datagram, appending its source to FILE (one line each).
udp-send: one 1200-byte datagram (a QUIC Initial's size) from a connected UDP
          socket, then waits for the echo; prints {"echo": bool, "error": ...}
          (an ICMP port unreachable shows as ConnectionRefusedError).
"""

import argparse
import hashlib
import json
import socket
import ssl
import struct
import sys
import threading
import time

CHUNK = 1 << 16


def stream_block(seed: int) -> bytes:
    """1 MiB of bytes derived from `seed`; the stream repeats it."""
    out = bytearray()
    counter = 0
    while len(out) < (1 << 20):
        out += hashlib.sha256(struct.pack(">QQ", seed, counter)).digest()
        counter += 1
    return bytes(out)


def stream_digest(n: int, seed: int) -> str:
    block = stream_block(seed)
    h = hashlib.sha256()
    left = n
    while left:
        take = min(left, len(block))
        h.update(block[:take])
        left -= take
    return h.hexdigest()


def parse_endpoint(text: str):
    host, _, port = text.rpartition(":")
    if host.startswith("["):
        return socket.AF_INET6, (host[1:-1], int(port))
    return socket.AF_INET, (host, int(port))


def read_http_response(conn) -> bytes:
    """One HTTP/1.1 response: its head, then Content-Length bytes of body
    (or up to the end of the connection when it names none). Head and body
    may arrive in separate records (the gateway's HTTP layer writes them so)."""
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = conn.recv(CHUNK)
        if not chunk:
            return response
        response += chunk
    head, _, body = response.partition(b"\r\n\r\n")
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while length is None or len(body) < length:
        chunk = conn.recv(CHUNK)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def recv_exact(conn, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = conn.recv(min(CHUNK, n - len(out)))
        if not chunk:
            raise EOFError(f"connection ended after {len(out)} of {n} bytes")
        out += chunk
    return bytes(out)


# --- server ---------------------------------------------------------------------------


def serve(conn) -> None:
    try:
        while True:
            command = conn.recv(1)
            if command == b"U":
                (n,) = struct.unpack(">Q", recv_exact(conn, 8))
                h = hashlib.sha256()
                left = n
                while left:
                    chunk = conn.recv(min(CHUNK, left))
                    if not chunk:
                        return
                    h.update(chunk)
                    left -= len(chunk)
                conn.sendall(h.digest())
            elif command == b"D":
                n, seed = struct.unpack(">QQ", recv_exact(conn, 16))
                block = stream_block(seed)
                left = n
                while left:
                    take = min(left, len(block))
                    conn.sendall(block[:take])
                    left -= take
            else:
                break
        try:
            conn.unwrap()
        except (ssl.SSLError, OSError):
            pass
    except (OSError, EOFError, ssl.SSLError):
        pass
    finally:
        conn.close()


def run_server(args) -> int:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    listeners = []
    for text in args.listen:
        family, address = parse_endpoint(text)
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind(address)
        s.listen(1024)  # the fault tests open hundreds of flows at once
        listeners.append(s)

    def accept_loop(s):
        while True:
            raw, _ = s.accept()
            try:
                conn = ctx.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError):
                raw.close()
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    for s in listeners:
        threading.Thread(target=accept_loop, args=(s,), daemon=True).start()
    print("listening", flush=True)
    threading.Event().wait()
    return 0


# --- client ---------------------------------------------------------------------------


def run_client(args) -> int:
    result = {"ok": False}
    family, address = parse_endpoint(args.connect)
    raw = socket.socket(family, socket.SOCK_STREAM)
    raw.settimeout(30)
    try:
        if args.local_port:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            raw.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", args.local_port))
        raw.connect(address)
        result["local_port"] = raw.getsockname()[1]
        ctx = ssl.create_default_context(cafile=args.ca)
        conn = ctx.wrap_socket(raw, server_hostname=args.sni)
        cert = conn.getpeercert()
        issuer = dict(x[0] for x in cert.get("issuer", ()))
        result["issuer_cn"] = issuer.get("commonName", "")
        if args.upload or args.download:
            if args.upload:
                block = stream_block(7)
                h = hashlib.sha256()
                conn.sendall(b"U" + struct.pack(">Q", args.upload))
                left = args.upload
                while left:
                    take = min(left, len(block))
                    conn.sendall(block[:take])
                    h.update(block[:take])
                    left -= take
                result["upload_ok"] = recv_exact(conn, 32) == h.digest()
            if args.download:
                conn.sendall(b"D" + struct.pack(">QQ", args.download, 11))
                h = hashlib.sha256()
                got = 0
                started = time.monotonic()
                while got < args.download:
                    if args.download_seconds:  # paced: at most the rate that takes S seconds
                        ahead = started + args.download_seconds * got / args.download
                        time.sleep(max(0.0, ahead - time.monotonic()))
                    chunk = conn.recv(CHUNK)
                    if not chunk:
                        break
                    h.update(chunk)
                    got += len(chunk)
                result["download_ok"] = got == args.download and h.hexdigest() == stream_digest(
                    args.download, 11)
            result["ok"] = all(result.get(k, True) for k in ("upload_ok", "download_ok"))
        else:
            request = f"GET / HTTP/1.1\r\nHost: {args.sni}\r\nConnection: close\r\n\r\n"
            conn.sendall(request.encode())
            response = read_http_response(conn)
            result["body"] = response.split(b"\r\n\r\n", 1)[-1].decode(errors="replace")
            result["ok"] = response.startswith(b"HTTP/1.1 200")
        if args.hold:
            print(json.dumps({"ready": True, **result}), flush=True)
            sys.stdin.readline()
        conn.close()
    except (OSError, ssl.SSLError, EOFError) as e:
        result["error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(result), flush=True)
    return 0


# --- UDP --------------------------------------------------------------------------------


def run_udp_echo(args) -> int:
    sockets = []
    for text in args.listen:
        family, address = parse_endpoint(text)
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.bind(address)
        sockets.append(s)

    def echo(s):
        while True:
            data, peer = s.recvfrom(65535)
            with open(args.record, "a") as f:
                f.write(f"{peer[0]} {peer[1]} {len(data)}\n")
            s.sendto(data, peer)

    for s in sockets:
        threading.Thread(target=echo, args=(s,), daemon=True).start()
    print("listening", flush=True)
    threading.Event().wait()
    return 0


def run_udp_send(args) -> int:
    family, address = parse_endpoint(args.connect)
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(3)
    result = {"echo": False}
    try:
        s.connect(address)
        payload = bytes([0xC3]) + bytes(1199)  # a long-header packet's first byte
        s.send(payload)
        result["echo"] = s.recv(2048) == payload
    except OSError as e:
        result["error"] = type(e).__name__
    print(json.dumps(result), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="role", required=True)
    c = sub.add_parser("client")
    c.add_argument("--connect", required=True)
    c.add_argument("--sni", required=True)
    c.add_argument("--ca", required=True)
    c.add_argument("--local-port", type=int, default=0)
    c.add_argument("--hold", action="store_true")
    c.add_argument("--upload", type=int, default=0)
    c.add_argument("--download", type=int, default=0)
    c.add_argument("--download-seconds", type=float, default=0.0)
    s = sub.add_parser("server")
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--listen", action="append", required=True)
    e = sub.add_parser("udp-echo")
    e.add_argument("--listen", action="append", required=True)
    e.add_argument("--record", required=True)
    u = sub.add_parser("udp-send")
    u.add_argument("--connect", required=True)
    args = parser.parse_args()
    roles = {"client": run_client, "server": run_server, "udp-echo": run_udp_echo,
             "udp-send": run_udp_send}
    return roles[args.role](args)


if __name__ == "__main__":
    sys.exit(main())
