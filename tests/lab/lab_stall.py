#!/usr/bin/python3
"""Peers that stall or misbehave, by the thousand, for the fault tests
(standard library only; one thread, non-blocking sockets).

    lab_stall.py upstream --listen ADDR:PORT [...]
    lab_stall.py clients --connect ADDR:PORT --sni NAME --count N --mode MODE
    lab_stall.py half-close --connect ADDR:PORT --sni NAME --ca FILE --count N

half-close: N flows, 50 at a time: TLS handshake (verified with --ca), an
          HTTP/1.1 GET with "Connection: close" (--h2: an h2 GET with
          END_STREAM, after the server's SETTINGS), then the client's end:
          every other flow a TLS close_notify and a FIN, the others the FIN
          alone (shutdown SHUT_WR under TLS; --fin-only: all of them); then the whole response is read
          (h1: to the server's end; h2: to the stream's END_STREAM);
          prints {"complete": n, "broken": m, "errors": [...]}.
upstream: accepts every connection and never answers (reads and discards);
          prints {"listening": true}.
clients:  opens N connections at once; MODE says what each one sends, then
          it holds: partial-hello (the first 60 bytes of a ClientHello), hello
          (a whole ClientHello, so the gateway goes upstream), nothing (no
          byte at all), mid-request (a completed TLS handshake, verified with
          --ca, then half an HTTP request). Prints {"connected": n, "failed": m} and holds until
          stdin ends; then closes them all with a RST (SO_LINGER 0) when
          --reset, else with a FIN.
"""

import argparse
import json
import resource
import selectors
import socket
import ssl
import struct
import sys
import time


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def client_hello(sni: str) -> bytes:
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def upstream(args) -> None:
    sel = selectors.DefaultSelector()
    for address in args.listen:
        host, port = split(address)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(65535)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "listener")
    print(json.dumps({"listening": True}), flush=True)
    held = []
    while True:
        for key, _ in sel.select():
            if key.data == "listener":
                try:
                    conn, _ = key.fileobj.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                held.append(conn)
                sel.register(conn, selectors.EVENT_READ, "conn")
            else:
                try:
                    data = key.fileobj.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()


def clients(args) -> None:
    host, port = split(args.connect)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    hello = client_hello(args.sni)
    if args.mode == "mid-request":
        mid_request(args, host, port)
        return
    payload = {"partial-hello": hello[:60], "hello": hello, "nothing": b""}[args.mode]
    socks, failed = [], 0
    pending = {}
    sel = selectors.DefaultSelector()
    for _ in range(args.count):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect((host, port))
        except BlockingIOError:
            pass
        except OSError:
            failed += 1
            s.close()
            continue
        pending[s] = payload
        sel.register(s, selectors.EVENT_WRITE)
    deadline = time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            sel.unregister(s)
            data = pending.pop(s)
            if err != 0:
                failed += 1
                s.close()
                continue
            try:
                if data:
                    s.send(data)
                socks.append(s)
            except OSError:
                failed += 1
                s.close()
    failed += len(pending)
    print(json.dumps({"connected": len(socks), "failed": failed}), flush=True)
    sys.stdin.read()
    for s in socks:
        if args.reset:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()


def mid_request(args, host: str, port: int) -> None:
    ctx = ssl.create_default_context(cafile=args.ca)
    held, failed = [], 0
    for _ in range(args.count):
        try:
            raw = socket.create_connection((host, port), timeout=10)
            tls = ctx.wrap_socket(raw, server_hostname=args.sni)
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {args.sni}\r\n".encode())
            held.append(tls)
        except (OSError, ssl.SSLError):
            failed += 1
    print(json.dumps({"connected": len(held), "failed": failed}), flush=True)
    sys.stdin.read()
    for s in held:
        if args.reset:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()


def h2_frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + \
        struct.pack(">I", stream) + payload


def hpack_literal(name: str, value: str) -> bytes:
    """A header field as a literal without indexing, new name, no Huffman
    (RFC 7541 §6.2.2); the names and values here are shorter than 127."""
    return b"\x00" + bytes([len(name)]) + name.encode() + bytes([len(value)]) + value.encode()


def h2_frames(buffer: bytearray):
    """Takes the whole frames at the front of `buffer`: (type, flags, stream, payload)."""
    while len(buffer) >= 9:
        length = int.from_bytes(buffer[:3], "big")
        if len(buffer) < 9 + length:
            return
        kind, flags = buffer[3], buffer[4]
        stream = int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
        payload = bytes(buffer[9:9 + length])
        del buffer[:9 + length]
        yield kind, flags, stream, payload


def half_close_one(ctx, host: str, port: int, sni: str, close_notify: bool, h2: bool,
                   site: str) -> str | None:
    raw = socket.create_connection((host, port), timeout=10)
    try:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)

        def pump():
            data = outgoing.read()
            if data:
                raw.sendall(data)

        def read_more() -> bytes | None:
            """Plaintext that came (b"" for none yet); None at the server's end."""
            chunk = raw.recv(65536)
            if not chunk:
                return None
            incoming.write(chunk)
            got = b""
            try:
                while data := tls.read(65536):  # b"": the server's close_notify
                    got += data
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                pass
            return got

        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pump()
                chunk = raw.recv(65536)
                if not chunk:
                    return "eof in handshake"
                incoming.write(chunk)
        pump()
        frames = bytearray()
        if h2:
            if tls.selected_alpn_protocol() != "h2":
                return f"alpn {tls.selected_alpn_protocol()}"
            tls.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + h2_frame(4, 0, 0))
            pump()
            settings = False
            while not settings:  # the server's SETTINGS, acknowledged before the request
                got = read_more()
                if got is None:
                    return "eof before the server's SETTINGS"
                frames += got
                settings = any(k == 4 and not f & 1 for k, f, _, _ in h2_frames(frames))
            block = (hpack_literal(":method", "GET") + hpack_literal(":scheme", "https") +
                     hpack_literal(":path", "/") + hpack_literal(":authority", sni))
            tls.write(h2_frame(4, 1, 0) + h2_frame(1, 0x5, 1, block))  # END_STREAM|END_HEADERS
        else:
            tls.write(f"GET / HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n".encode())
        pump()
        if close_notify:  # TLS half-close (RFC 8446 §6.1), then the FIN
            try:
                tls.unwrap()
            except ssl.SSLWantReadError:
                pass
            pump()
        raw.shutdown(socket.SHUT_WR)  # the client's FIN; the answer must still come
        body = b""
        while True:
            got = read_more()
            if got is None:
                break
            if not h2:
                body += got
                continue
            frames += got
            ended = False
            for kind, flags, stream, payload in h2_frames(frames):
                if stream != 1:
                    continue
                if kind == 0:  # DATA (no padding from nginx or the gateway)
                    body += payload
                if kind == 3:
                    return f"stream reset {payload.hex()}"
                ended = ended or (kind in (0, 1) and flags & 1)
            if ended:
                break
        if not h2 and not body.startswith(b"HTTP/1.1 200"):
            return f"response {body[:40]!r}"
        if f"site={site}".encode() not in body:
            return f"body {body[:40]!r}"
        return None
    finally:
        raw.close()


def half_close(args) -> None:
    import threading
    host, port = split(args.connect)
    ctx = ssl.create_default_context(cafile=args.ca)
    if args.h2:
        ctx.set_alpn_protocols(["h2"])
    results = []
    lock = threading.Lock()

    def one(close_notify: bool):
        try:
            error = half_close_one(ctx, host, port, args.sni, close_notify, args.h2,
                                   args.site or args.sni)
        except (OSError, ssl.SSLError) as e:
            error = str(e)
        if error:
            error = ("close_notify+FIN: " if close_notify else "FIN: ") + error
        with lock:
            results.append(error)

    for first in range(0, args.count, 50):
        # Every other flow ends with close_notify before its FIN, the others with the FIN alone.
        threads = [threading.Thread(target=one, args=(not args.fin_only and (first + i) % 2 == 1,))
                   for i in range(min(50, args.count - first))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    errors = [e for e in results if e]
    print(json.dumps({"complete": len(results) - len(errors), "broken": len(errors),
                      "errors": errors[:20]}), flush=True)


def main() -> None:
    raise_fd_limit()
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="role", required=True)
    u = sub.add_parser("upstream")
    u.add_argument("--listen", action="append", required=True)
    c = sub.add_parser("clients")
    c.add_argument("--connect", required=True)
    c.add_argument("--sni", required=True)
    c.add_argument("--count", type=int, required=True)
    c.add_argument("--mode", choices=("partial-hello", "hello", "nothing", "mid-request"),
                   required=True)
    c.add_argument("--ca")
    c.add_argument("--reset", action="store_true")
    h = sub.add_parser("half-close")
    h.add_argument("--connect", required=True)
    h.add_argument("--sni", required=True)
    h.add_argument("--ca", required=True)
    h.add_argument("--count", type=int, required=True)
    h.add_argument("--h2", action="store_true")
    h.add_argument("--fin-only", action="store_true")
    h.add_argument("--site", help="the site named in the body (default: the SNI)")
    args = p.parse_args()
    {"upstream": upstream, "clients": clients, "half-close": half_close}[args.role](args)


if __name__ == "__main__":
    main()
